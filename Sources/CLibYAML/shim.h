// libyaml 0.2 (Debian's libyaml-dev): the event parser behind YAML policy files.
#include <yaml.h>
