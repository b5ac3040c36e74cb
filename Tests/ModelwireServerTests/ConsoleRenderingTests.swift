import Foundation
import ModelwireCodec
import ModelwireML
import Testing

@testable import ModelwireServer

/// The web console's pages on their own: escaping, the SVG curves, the confusion heat map and the
/// page bounds (the routes against a real server are in ModelwireEndToEndTests/ConsoleTests).
@Suite("Console rendering")
struct ConsoleRenderingTests {
    static let hostile = "<script>alert('x')</script>"

    static func occurrences(_ needle: String, in text: String) -> Int {
        text.components(separatedBy: needle).count - 1
    }

    static func info(classNames: [String], features: [String], counts: [UInt64]) -> V1.ModelVersionInfo {
        V1.ModelVersionInfo(
            name: "m",
            version: 2,
            task: .classification,
            spec: V1.ModelSpec(family: .dense(V1.DenseNetSpec())),
            inputColumns: UInt32(features.count),
            featureNames: features,
            classNames: classNames,
            trainingMetrics: V1.Evaluation(
                rows: counts.reduce(0, +),
                kind: .classification(
                    V1.ClassificationMetrics(
                        accuracy: 0.75,
                        confusion: V1.ConfusionMatrix(classes: UInt32(classNames.count), counts: counts)
                    )
                )
            ),
            aliases: ["prod"]
        )
    }

    @Test("escaping: markup characters become references; link segments are percent-encoded")
    func escaping() {
        #expect(HTML.escape("a<b>&\"c\"'d'") == "a&lt;b&gt;&amp;&quot;c&quot;&#39;d&#39;")
        #expect(HTML.escape("é ok") == "é ok")
        #expect(HTML.pathSegment("iris-2.v_1") == "iris-2.v_1")
        #expect(HTML.pathSegment("a b/\"<é") == "a%20b%2F%22%3C%C3%A9")
    }

    @Test("a model page: user names stay text, a curve per chart, one heat-map cell per pair")
    func modelPage() {
        let history = (1...3).map { V1.TrainingEpoch(epoch: UInt32($0), loss: 1 / Float($0), accuracy: 0.5) }
        let page = ConsoleModelPage(
            info: Self.info(
                classNames: [Self.hostile, "b&b"],
                features: ["<img src=x onerror=alert(1)>", "f1"],
                counts: [3, 1, 0, 4]
            ),
            training: V1.TrainingSummary(epochsRun: 3, trainingSamples: 8, finalLoss: 0.33, history: history)
        ).render()
        #expect(!page.contains("<script") && !page.contains("<img"))
        #expect(page.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"))
        #expect(page.contains("&lt;img src=x onerror=alert(1)&gt;") && page.contains("b&amp;b"))
        #expect(page.contains("<h1>m v2</h1>"))
        #expect(Self.occurrences("<polyline", in: page) == 2)  // training loss; training accuracy
        #expect(Self.occurrences("<td class=\"cm", in: page) == 4)
        #expect(page.contains(">4</td>") && page.contains("title=\"true b&amp;b, predicted b&amp;b: 4\""))
        #expect(!page.contains("epochs are kept"))  // all 3 of 3 kept

        let thinned = ConsoleModelPage(
            info: Self.info(classNames: ["a"], features: [], counts: [1]),
            training: V1.TrainingSummary(epochsRun: 9, history: history)
        ).render()
        #expect(thinned.contains("3 of 9 epochs are kept"))
        let bare = ConsoleModelPage(info: V1.ModelVersionInfo(name: "old", version: 1), training: nil).render()
        #expect(bare.contains("no training summary") && bare.contains("No evaluation was stored"))
    }

    @Test("the curve: at most 1,000 polyline points, first and last kept, non-finite values left out")
    func chart() throws {
        let long = (1...5_000).map { (x: Double($0), y: Double($0 % 7)) }
        let svg = try #require(
            SVGLineChart(title: "t", series: [.init(name: "loss", colour: "#000", points: long)]).render()
        )
        let points = try #require(svg.split(separator: "points=\"").last?.split(separator: "\"").first)
        let pairs = points.split(separator: " ")
        #expect(pairs.count == SVGLineChart.maxPoints)
        #expect(pairs.first?.hasPrefix("56.0,") == true && pairs.last?.hasPrefix("528.0,") == true)
        let gaps = [(x: 1.0, y: Double.nan), (x: 2, y: 1), (x: 3, y: .infinity), (x: 4, y: 2)]
        let gapped = try #require(
            SVGLineChart(title: "t", series: [.init(name: "s", colour: "#000", points: gaps)]).render()
        )
        let kept = gapped.split(separator: "points=\"")[1].split(separator: "\"")[0]
        #expect(kept.split(separator: " ").count == 2)
        #expect(SVGLineChart(title: "t", series: [.init(name: "s", colour: "#000", points: [])]).render() == nil)
        let single = try #require(
            SVGLineChart(title: "t", series: [.init(name: "s", colour: "#000", points: [(x: 1, y: 1)])]).render()
        )
        #expect(single.contains("<circle") && !single.contains("<polyline"))
    }

    @Test("the heat map: shaded by the true class's share; too many classes or a bad size only noted")
    func heatMap() {
        let table = ConfusionHeatMap(classNames: ["a", "b"], counts: [3, 1, 0, 4]).render()
        #expect(table.contains("rgba(37,99,235,0.75)") && table.contains("rgba(220,38,38,0.25)"))
        #expect(table.contains("rgba(37,99,235,1.00)"))
        let many = ConfusionHeatMap(classNames: (0..<51).map(String.init), counts: .init(repeating: 0, count: 51 * 51))
        #expect(!many.render().contains("<table") && many.render().contains("at most 50"))
        #expect(ConfusionHeatMap(classNames: ["a", "b"], counts: [1]).render().contains("does not match"))
    }

    @Test("the front page lists at most 100 models and 50 jobs, and says how many more there are")
    func indexBounds() {
        let models = (0..<150).map { i in
            V1.ModelSummary(
                name: "model-\(i)",
                versions: (1...12).map { V1.ModelVersionInfo(name: "model-\(i)", version: UInt32($0)) },
                aliases: [V1.Alias(name: "prod", version: 3)]
            )
        }
        let jobs = (0..<60).map { V1.Job(id: "job-\($0)", model: "model-0", state: .succeeded) }
        let page = ConsoleIndexPage(server: "s", models: models, jobs: jobs).render()
        #expect(Self.occurrences("<tr><td><a href=\"/models/", in: page) == 100)
        #expect(page.contains("50 more models are not listed"))
        #expect(page.contains("and 2 older") && page.contains(">v12</a>") && !page.contains(">v2</a>"))
        #expect(page.contains("<a href=\"/models/model-0/versions/3\">prod</a> → v3"))
        #expect(Self.occurrences("<tr><td><a href=\"/jobs/", in: page) == 50)
        #expect(page.contains("10 older jobs are not listed"))
        let predictOnly = ConsoleIndexPage(server: "s", models: [], jobs: nil).render()
        #expect(predictOnly.contains("needs a token with role train") && predictOnly.contains("No models yet"))
    }

    @Test("a job page reloads itself while the job runs, and escapes its error")
    func jobPage() {
        let running = V1.Job(
            id: "job-1",
            model: "m",
            state: .running,
            lastProgress: V1.TrainProgress(epoch: 2, epochs: 9, loss: 0.5)
        )
        let live = ConsoleJobPage(
            job: running,
            curve: .epochs([TrainingEpoch(epoch: 1, loss: 1), TrainingEpoch(epoch: 2, loss: 0.5)])
        ).render()
        #expect(live.contains("<meta http-equiv=\"refresh\" content=\"2\">"))
        #expect(live.contains("epoch 2/9") && live.contains("<polyline"))
        let failed = V1.Job(id: "job-2", model: "m", state: .failed, error: V1.Status(message: Self.hostile))
        let ended = ConsoleJobPage(job: failed, curve: .unavailable("The job ended without a model.")).render()
        #expect(!ended.contains("http-equiv") && !ended.contains("<script"))
        #expect(ended.contains("&lt;script&gt;") && ended.contains("ended without a model"))
    }
}
