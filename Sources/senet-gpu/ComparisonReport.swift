import Foundation

/// `compare --report FILE`: one static HTML page, no network, that draws each layer's relative
/// error against the tolerance (log scale, in execution order) and lists the layers in a table.
/// The comparisons travel as JSON inside the page and a short script draws them as SVG, so the
/// same data a test reads back is what the browser draws.
enum ComparisonReport {
    /// The page for `summaries` (one per device compared).
    static func html(_ summaries: [CompareCommand.Summary]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        // "</" would end the script element early; JSON allows "<\/" for it.
        let data = String(decoding: try encoder.encode(summaries), as: UTF8.self)
            .replacingOccurrences(of: "</", with: "<\\/")
        return """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <title>senet-gpu compare</title>
            <style>
            body { font: 14px system-ui, sans-serif; margin: 1.5em; color: #222; }
            .pass { color: #1a7f37; } .fail { color: #c62828; }
            svg { background: #fafafa; border: 1px solid #ddd; }
            circle.layer { fill: #1a7f37; } circle.layer.over { fill: #c62828; }
            line.tolerance { stroke: #c62828; stroke-dasharray: 4 3; }
            table { border-collapse: collapse; margin-top: 1em; }
            td, th { padding: 2px 10px; text-align: left; border-bottom: 1px solid #eee; }
            td.number { text-align: right; font-variant-numeric: tabular-nums; }
            </style>
            </head>
            <body>
            <h1>senet-gpu compare</h1>
            <p>Each layer's relative error against the fp32 CPU reference (max |device − reference| / max |reference|),
            in execution order, on a log scale; the dashed line is the tolerance. Infinite or NaN errors sit at the top.</p>
            <div id="devices"></div>
            <script type="application/json" id="comparisons">\(data)</script>
            <script>
            \(script)
            </script>
            </body>
            </html>

            """
    }

    /// Draws one section per device: a heading with the verdict, the chart and the table.
    private static let script = """
        "use strict";
        const svgNS = "http://www.w3.org/2000/svg";
        const comparisons = JSON.parse(document.getElementById("comparisons").textContent);
        const numeric = (v) => (typeof v === "number" ? v : Infinity);
        function element(name, attributes, parent) {
          const node = document.createElementNS(svgNS, name);
          for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
          parent.appendChild(node);
          return node;
        }
        function chart(comparison, parent) {
          const [width, height, left, bottom] = [Math.max(480, 12 * comparison.layers.length + 80), 320, 60, 30];
          const svg = element("svg", { width, height, role: "img" }, parent);
          const finite = comparison.layers.map((l) => numeric(l.relativeError)).filter((e) => isFinite(e) && e > 0);
          const low = Math.floor(Math.log10(Math.max(1e-9, Math.min(comparison.tolerance / 10, ...finite))));
          const high = Math.ceil(Math.log10(Math.max(comparison.tolerance * 10, ...finite)));
          const y = (error) => {
            const e = numeric(error);
            const exponent = !isFinite(e) ? high : Math.log10(Math.max(e, Math.pow(10, low)));
            return 10 + (height - bottom - 10) * (high - exponent) / (high - low);
          };
          for (let p = low; p <= high; p++) {
            element("line", { x1: left, x2: width - 10, y1: y(Math.pow(10, p)), y2: y(Math.pow(10, p)), stroke: "#e4e4e4" }, svg);
            element("text", { x: 4, y: y(Math.pow(10, p)) + 4, "font-size": 11 }, svg).textContent = "1e" + p;
          }
          element("line", { class: "tolerance", x1: left, x2: width - 10, y1: y(comparison.tolerance), y2: y(comparison.tolerance) }, svg);
          const step = (width - left - 20) / Math.max(1, comparison.layers.length - 1);
          comparison.layers.forEach((layer, index) => {
            const over = !(numeric(layer.relativeError) <= comparison.tolerance);
            const dot = element("circle", {
              class: over ? "layer over" : "layer", cx: left + index * step, cy: y(layer.relativeError), r: 4,
              "data-name": layer.name, "data-error": String(layer.relativeError),
            }, svg);
            element("title", {}, dot).textContent = `${layer.name} (${layer.kind}): ${layer.relativeError}`;
          });
        }
        function table(comparison, parent) {
          const t = document.createElement("table");
          t.innerHTML = "<tr><th>#</th><th>layer</th><th>kind</th><th>where</th><th>max abs err</th><th>rel err</th></tr>";
          comparison.layers.forEach((layer, index) => {
            const row = t.insertRow();
            const over = !(numeric(layer.relativeError) <= comparison.tolerance);
            row.className = over ? "fail" : "";
            const error = (v) => (typeof v === "number" ? v.toExponential(3) : String(v));
            for (const [text, cls] of [[String(index + 1), "number"], [layer.name, ""], [layer.kind, ""],
                                       [layer.onDevice ? "device" : "cpu", ""],
                                       [error(layer.maxAbsoluteError), "number"], [error(layer.relativeError), "number"]]) {
              const cell = row.insertCell();
              cell.textContent = text;
              cell.className = cls;
            }
          });
          parent.appendChild(t);
        }
        const root = document.getElementById("devices");
        for (const comparison of comparisons) {
          const section = document.createElement("section");
          section.className = "device";
          const heading = document.createElement("h2");
          heading.textContent = `${comparison.device} (${comparison.precision}): ` +
            (comparison.passed ? "PASS" : "FAIL") + `, logits relative error ${comparison.logitsRelativeError}, ` +
            `tolerance ${comparison.tolerance}` +
            (comparison.firstDivergingLayer ? `, first layer over it: ${comparison.firstDivergingLayer}` : "");
          heading.className = comparison.passed ? "pass" : "fail";
          section.appendChild(heading);
          chart(comparison, section);
          table(comparison, section);
          root.appendChild(section);
        }
        document.body.setAttribute("data-rendered", String(comparisons.length));
        """
}
