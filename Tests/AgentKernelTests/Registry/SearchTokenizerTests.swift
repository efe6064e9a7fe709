import Testing
@testable import AgentKernel

@Suite struct SearchTokenizerTests {
    // python -c "from weaver_kernel.search_index import tokenize as t; print(t('İstanbul KELVIN \u212Aelvin Ünïcode please show me the invoice_list billing.x'))"
    // -> ['stanbul', 'kelvin', 'kelvin', 'n', 'code', 'invoice', 'list', 'billing', 'x']
    @Test func unicodeLowerAndStopWords() {
        #expect(SearchTokenizer.tokenize("İstanbul KELVIN \u{212A}elvin Ünïcode please show me the invoice_list billing.x")
                == ["stanbul", "kelvin", "kelvin", "n", "code", "invoice", "list", "billing", "x"])
    }

    // python -c "from weaver_kernel.search_index import tokenize as t; print(t('xİy'), t('a\u212A'), t('GET Show ANY'), t(''))"
    // -> ['xi', 'y'] ['ak'] [] []
    @Test func dottedCapitalIJoinsThenSplits() {
        #expect(SearchTokenizer.tokenize("xİy") == ["xi", "y"])
        #expect(SearchTokenizer.tokenize("a\u{212A}") == ["ak"])
        #expect(SearchTokenizer.tokenize("GET Show ANY") == [])
        #expect(SearchTokenizer.tokenize("") == [])
    }

    // python -c "from weaver_kernel.search_index import tokenize as t; print(t('e\u0301t\u00e9 \u0661\u0662 ﬁle 123abc'))"
    // -> ['e', 't', 'le', '123abc']
    @Test func nonASCIISeparates() {
        #expect(SearchTokenizer.tokenize("e\u{301}t\u{e9} \u{661}\u{662} ﬁle 123abc") == ["e", "t", "le", "123abc"])
    }

    // The tokenizer skips the stop-word look-up for tokens longer than this bound.
    @Test func stopWordLengthBoundCoversEveryStopWord() {
        #expect(SearchTokenizer.stopWords.allSatisfy { $0.utf8.count <= SearchTokenizer.stopWordMaxLength })
        #expect(SearchTokenizer.tokenize("please show invoices") == ["invoices"])
    }
}
