print("kernel-bench: not yet")
