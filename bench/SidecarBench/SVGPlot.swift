import Foundation

/// Minimal SVG charts written by the harness itself (no plotting dependency): categorical x,
/// log-scale y with decade grid lines, a legend. Enough for latency percentiles, p50 per verb
/// and throughput against concurrency.
struct SVGSeries {
    var name: String
    var color: String
    var dashed = false
    /// One value per category (nil = no point).
    var values: [Double?]
}

enum SVGPlot {
    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
                          "#7f7f7f", "#bcbd22"]

    static let width = 860.0, height = 460.0
    static let left = 80.0, right = 230.0, top = 40.0, bottom = 60.0
    /// Average width of a 12 px Helvetica character, to tell whether category labels fit.
    static let charWidth = 6.8
    /// Degrees a category label is turned when the labels would overlap side by side.
    static let labelAngle = 35.0

    /// Lines over categories.
    static func lines(title: String, categories: [String], yLabel: String, series: [SVGSeries],
                      format: (Double) -> String) -> String {
        chart(title: title, categories: categories, yLabel: yLabel, series: series, format: format, bars: false)
    }

    /// Grouped bars over categories (one bar per series in each category).
    static func bars(title: String, categories: [String], yLabel: String, series: [SVGSeries],
                     format: (Double) -> String) -> String {
        chart(title: title, categories: categories, yLabel: yLabel, series: series, format: format, bars: true)
    }

    private static func chart(title: String, categories: [String], yLabel: String, series: [SVGSeries],
                              format: (Double) -> String, bars: Bool) -> String {
        let all = series.flatMap { $0.values.compactMap { $0 } }.filter { $0 > 0 }
        var lo = floor(log10(all.min() ?? 1)), hi = ceil(log10(all.max() ?? 10))
        if hi <= lo { hi = lo + 1 }
        if hi - lo > 8 { lo = hi - 8 }
        let plotW = width - left - right, plotH = height - top - bottom
        let slotWidth = plotW / Double(max(1, categories.count))
        // Category labels wider than their slot (verb names side by side) overlapped: they are
        // then drawn rotated, and the picture grows downward by what the rotation needs.
        let labelWidth = Double(categories.map(\.count).max() ?? 0) * charWidth
        let rotate = labelWidth > slotWidth - 8
        let labelDrop = rotate ? labelWidth * sin(labelAngle * .pi / 180) + 8 : 0
        let totalHeight = height + labelDrop
        func y(_ v: Double) -> Double { top + plotH * (1 - (log10(max(v, pow(10, lo))) - lo) / (hi - lo)) }
        let slot = slotWidth
        func xCenter(_ i: Int) -> Double { left + slot * (Double(i) + 0.5) }

        var s = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(totalHeight))" \
            viewBox="0 0 \(Int(width)) \(Int(totalHeight))" font-family="Helvetica, Arial, sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(left)" y="24" font-size="15" font-weight="bold">\(esc(title))</text>

            """
        // Decade grid and labels.
        var d = lo
        while d <= hi {
            let yy = y(pow(10, d))
            s += "<line x1=\"\(left)\" y1=\"\(f(yy))\" x2=\"\(left + plotW)\" y2=\"\(f(yy))\" stroke=\"#ddd\"/>\n"
            s += "<text x=\"\(left - 6)\" y=\"\(f(yy + 4))\" text-anchor=\"end\">\(esc(format(pow(10, d))))</text>\n"
            d += 1
        }
        s += "<line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(top + plotH)\" stroke=\"#333\"/>\n"
        s += "<line x1=\"\(left)\" y1=\"\(top + plotH)\" x2=\"\(left + plotW)\" y2=\"\(top + plotH)\" stroke=\"#333\"/>\n"
        s += "<text transform=\"translate(18,\(f(top + plotH / 2))) rotate(-90)\" text-anchor=\"middle\">\(esc(yLabel)) (log scale)</text>\n"
        for (i, c) in categories.enumerated() {
            if rotate {
                // Anchored at its end under the slot's centre, so each label ends at its own bars.
                let (lx, ly) = (xCenter(i), top + plotH + 14)
                s += "<text x=\"\(f(lx))\" y=\"\(f(ly))\" text-anchor=\"end\" "
                    + "transform=\"rotate(-\(Int(labelAngle)) \(f(lx)) \(f(ly)))\">\(esc(c))</text>\n"
            } else {
                s += "<text x=\"\(f(xCenter(i)))\" y=\"\(f(top + plotH + 18))\" text-anchor=\"middle\">\(esc(c))</text>\n"
            }
        }
        if bars {
            let n = Double(max(1, series.count))
            let barW = slot * 0.8 / n
            for (k, se) in series.enumerated() {
                for (i, v) in se.values.enumerated() {
                    guard let v, v > 0 else { continue }
                    let x0 = xCenter(i) - slot * 0.4 + barW * Double(k)
                    let yy = y(v)
                    s += "<rect x=\"\(f(x0))\" y=\"\(f(yy))\" width=\"\(f(barW - 1))\" height=\"\(f(top + plotH - yy))\" "
                        + "fill=\"\(se.color)\"><title>\(esc(se.name)) \(esc(categories[i])): \(esc(format(v)))</title></rect>\n"
                }
            }
        } else {
            for se in series {
                var path = ""
                for (i, v) in se.values.enumerated() {
                    guard let v, v > 0 else { continue }
                    path += (path.isEmpty ? "M" : " L") + "\(f(xCenter(i))),\(f(y(v)))"
                    s += "<circle cx=\"\(f(xCenter(i)))\" cy=\"\(f(y(v)))\" r=\"3.5\" fill=\"\(se.color)\">"
                        + "<title>\(esc(se.name)) \(esc(categories[i])): \(esc(format(v)))</title></circle>\n"
                }
                if !path.isEmpty {
                    s += "<path d=\"\(path)\" fill=\"none\" stroke=\"\(se.color)\" stroke-width=\"2\""
                        + (se.dashed ? " stroke-dasharray=\"6,4\"" : "") + "/>\n"
                }
            }
        }
        // Legend.
        for (k, se) in series.enumerated() {
            let ly = top + 10 + Double(k) * 20
            let lx = left + plotW + 16
            if bars {
                s += "<rect x=\"\(f(lx))\" y=\"\(f(ly - 9))\" width=\"14\" height=\"10\" fill=\"\(se.color)\"/>\n"
            } else {
                s += "<line x1=\"\(f(lx))\" y1=\"\(f(ly - 4))\" x2=\"\(f(lx + 18))\" y2=\"\(f(ly - 4))\" stroke=\"\(se.color)\" "
                    + "stroke-width=\"2\"" + (se.dashed ? " stroke-dasharray=\"6,4\"" : "") + "/>\n"
            }
            s += "<text x=\"\(f(lx + 24))\" y=\"\(f(ly))\">\(esc(se.name))</text>\n"
        }
        s += "</svg>\n"
        return s
    }

    static func f(_ v: Double) -> String { String(format: "%.1f", v) }

    static func esc(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}
