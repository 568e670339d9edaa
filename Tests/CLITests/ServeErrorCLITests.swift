import Foundation
import SENetCore
import TestSupport
import XCTest

/// Every bad request of docs/ERRORS.md's serve table is sent through a real listener, and gets
/// the table's status and error text; the server keeps serving after them all, and its metrics
/// count them. SENetServeTests sends the same table in-process, with the overload rows.
final class ServeErrorCLITests: XCTestCase {
    func testEveryDocumentedBadRequestGetsItsStatusAndErrorAndTheServerCarriesOn() throws {
        try skipWithoutOpenCL()
        let rows = try ServeBadRequests.documentedRows()
        XCTAssertEqual(
            Set(rows.keys), Set(try ServeBadRequests.cases().keys).union(ServeBadRequests.overloadRows),
            "docs/ERRORS.md's serve table and the tests differ")
        let server = try ServerProcess(["--device", "0", "--max-batch", "4", "--max-body-mb", "1"] + ServeCLITests.small)
        defer { server.stop() }
        for (name, request) in try ServeBadRequests.cases().sorted(by: { $0.key < $1.key }) {
            let reply = try server.send(request.method, request.path, body: request.body, headers: request.headers)
            guard let row = rows[name] else { continue }
            XCTAssertEqual(reply.status, row.status, "\(name): \(reply.text)")
            XCTAssertTrue(reply.error?.hasPrefix(row.error) == true, "\(name): got \(reply.text), documented \(row.error)")
        }
        let good = try server.post(
            "/v2/models/seresnet18/infer",
            body: try JSONSerialization.data(withJSONObject: ServeBadRequests.tensor([1, 3, 32, 32])))
        XCTAssertEqual(good.status, 200, good.text)
        XCTAssertEqual(try server.metric(#"senet_requests_total{route="infer",status="400"}"#), 20)
        XCTAssertEqual(try server.metric(#"senet_requests_total{route="infer",status="413"}"#), 2)
        XCTAssertEqual(server.stop(), 0, server.log)
    }
}
