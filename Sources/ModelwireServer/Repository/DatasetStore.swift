import Foundation
import Logging
import ModelwireCodec
import ModelwireData
import ModelwireProtocol
import Synchronization

/// Uploaded datasets, kept in `<root>/.datasets/<name>.pb` (a `V1.Dataset`) across restarts,
/// under a total size quota.
final class DatasetStore: Sendable {
    private struct Stored: Sendable {
        var info: V1.DatasetInfo
        /// The file's modification time when it was indexed (a refresh reads changed files again).
        var modified: Date?
    }

    private let directory: String
    private let quotaBytes: UInt64
    private let logger: Logger
    private let state = Mutex([String: Stored]())

    init(root: String, quotaBytes: UInt64, logger: Logger) {
        self.directory = "\((root as NSString).standardizingPath)/.datasets"
        self.quotaBytes = quotaBytes
        self.logger = logger
    }

    /// Indexes the stored datasets (unreadable ones are logged and skipped). Temporary files of
    /// writes that died are removed, unless another live server may still be writing them.
    func load() throws {
        try DurableFiles.makeDirectory(directory)
        for file in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where file.hasPrefix(".") {
            if WriterTag.isAbandoned(file, in: directory) {
                try? FileManager.default.removeItem(atPath: "\(directory)/\(file)")
            }
        }
        let found = scan(reusing: [:])
        state.withLock { $0 = found }
    }

    /// Indexes the datasets again (`--repository-poll-ms`): ones other servers on the same
    /// repository uploaded, replaced or deleted since appear here; unchanged files are not read again.
    func refresh() {
        let known = state.withLock { $0 }
        let found = scan(reusing: known)
        state.withLock { current in
            // A dataset this server saved meanwhile is kept: the next scan sees its file.
            var merged = found
            for (name, stored) in current where known[name] == nil { merged[name] = merged[name] ?? stored }
            current = merged
        }
    }

    /// Every dataset file's index entry; entries of `known` whose file did not change are reused.
    private func scan(reusing known: [String: Stored]) -> [String: Stored] {
        var found: [String: Stored] = [:]
        for file in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            guard !file.hasPrefix("."), file.hasSuffix(".pb") else { continue }
            let name = String(file.dropLast(3))
            let path = "\(directory)/\(file)"
            let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
            if let stored = known[name], let modified, stored.modified == modified {
                found[name] = stored
                continue
            }
            do {
                let bytes = try DurableFiles.read(path)
                let dataset = try V1.Dataset(serializedBytes: bytes)
                let info = Self.info(
                    name: name,
                    dataset: dataset,
                    size: UInt64(bytes.count),
                    created: modified ?? Date()
                )
                found[name] = Stored(info: info, modified: modified)
            } catch {
                logger.warning("datasets: \(file) is unreadable (\(error)); skipped")
            }
        }
        return found
    }

    /// Stores an uploaded dataset after validating it.
    /// - Throws: `ModelwireError`: invalid_argument, already_exists, resource_exhausted (quota).
    func save(name: String, dataset: V1.Dataset, replace: Bool) throws -> V1.DatasetInfo {
        try ResourceName.validate(name, "dataset")
        _ = try Dataset(wire: dataset, requireTwoClasses: false)  // shape, labels, values; training checks the classes
        let bytes = try dataset.serializedBytes()
        let used = state.withLock { $0.filter { $0.key != name }.values.reduce(UInt64(0)) { $0 + $1.info.sizeBytes } }
        if !replace, state.withLock({ $0[name] != nil }) {
            throw ModelwireError(.alreadyExists, "dataset \"\(name)\" exists; upload with replace to overwrite it")
        }
        guard used + UInt64(bytes.count) <= quotaBytes else {
            throw ModelwireError(
                .resourceExhausted,
                "dataset quota of \(quotaBytes) bytes exceeded (\(used) used, \(bytes.count) more requested)"
            )
        }
        let path = "\(directory)/\(name).pb"
        try DurableFiles.write(bytes, to: path)
        let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
        let info = Self.info(name: name, dataset: dataset, size: UInt64(bytes.count), created: modified ?? Date())
        state.withLock { $0[name] = Stored(info: info, modified: modified) }
        return info
    }

    /// The rows of a stored dataset.
    func dataset(named name: String) throws -> V1.Dataset {
        try ResourceName.validate(name, "dataset")
        if state.withLock({ $0[name] == nil }) { refresh() }  // uploaded to another server since the last poll?
        guard state.withLock({ $0[name] != nil }) else {
            throw ModelwireError(.notFound, "dataset \"\(name)\" does not exist")
        }
        return try V1.Dataset(serializedBytes: try DurableFiles.read("\(directory)/\(name).pb"))
    }

    /// Every stored dataset, sorted by name.
    func list() -> [V1.DatasetInfo] {
        state.withLock { $0.values.map(\.info).sorted { $0.name < $1.name } }
    }

    func delete(name: String) throws {
        try ResourceName.validate(name, "dataset")
        guard state.withLock({ $0[name] != nil }) else {
            throw ModelwireError(.notFound, "dataset \"\(name)\" does not exist")
        }
        try DurableFiles.remove("\(directory)/\(name).pb")
        state.withLock { $0[name] = nil }
    }

    private static func info(name: String, dataset: V1.Dataset, size: UInt64, created: Date) -> V1.DatasetInfo {
        let columns = dataset.features?.columns ?? 0
        let rows = columns == 0 ? 0 : UInt64(dataset.features?.values.count ?? 0) / UInt64(columns)
        return V1.DatasetInfo(
            name: name,
            rows: rows,
            columns: columns,
            featureNames: dataset.featureNames,
            classNames: dataset.classNames,
            sizeBytes: size,
            createdUnixMs: UInt64(created.timeIntervalSince1970 * 1000)
        )
    }
}

extension V1.Dataset {
    /// Appends an upload chunk: rows, with class ids remapped into the merged class-name list.
    /// - Throws: `ModelwireError` (invalid_argument) when the chunk's shape differs from the first chunk's.
    mutating func append(chunk: V1.Dataset) throws(ModelwireError) {
        let columns = chunk.features?.columns ?? 0
        if features == nil {
            featureNames = chunk.featureNames
            features = V1.Tensor(columns: columns)
        }
        guard columns == features!.columns else {
            throw ModelwireError(.invalidArgument, "chunk has \(columns) columns, the dataset \(features!.columns)")
        }
        features!.values += chunk.features?.values ?? []
        targets += chunk.targets
        guard !chunk.classNames.isEmpty else { return }
        var mapping: [UInt32] = []
        for name in chunk.classNames {
            if let index = classNames.firstIndex(of: name) {
                mapping.append(UInt32(index))
            } else {
                classNames.append(name)
                mapping.append(UInt32(classNames.count - 1))
            }
        }
        for id in chunk.classIds {
            guard Int(id) < mapping.count else {
                throw ModelwireError(.invalidArgument, "class id \(id) has no class name")
            }
            classIds.append(mapping[Int(id)])
        }
    }
}
