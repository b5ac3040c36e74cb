import Dispatch
import Foundation
import Synchronization

/// Ctrl-C while `train` or `jobs watch` follows a job only detaches from it (the job keeps
/// running on the server); this says so, with the command that follows it again, then exits 130.
enum InterruptHint {
    private static let state = Mutex<(jobID: String?, source: (any DispatchSourceSignal)?)>((nil, nil))

    /// From now on, SIGINT prints how to reattach to `jobID` and exits.
    static func watch(jobID: String) {
        state.withLock { state in
            state.jobID = jobID
            guard state.source == nil else { return }
            signal(SIGINT, SIG_IGN)  // delivered to the dispatch source instead
            let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
            source.setEventHandler {
                let id = Self.state.withLock { $0.jobID } ?? "?"
                let text =
                    "\nmodelwire: detached from job \(id), which keeps running on the server; "
                    + "follow it again with: modelwire jobs watch \(id)\n"
                FileHandle.standardError.write(Data(text.utf8))
                exit(130)
            }
            source.resume()
            state.source = source
        }
    }
}
