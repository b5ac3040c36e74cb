import Foundation
import Logging
import ModelwireCodec
import ModelwireData
import ModelwireDataWire
import ModelwireProtocol
import Synchronization

/// Uploaded datasets, kept in `<root>/.datasets/<name>.pb` (a `V1.Dataset`) or, uploaded as a
/// table, `<name>.table` (a `V1.LabelledTable`) across restarts, under a total size quota.
final class DatasetStore: Sendable {
    /// A stored dataset's rows: numeric, or a table of raw columns.
    enum Rows: Sendable {
        case dataset(V1.Dataset)
        case table(V1.LabelledTable)

        /// The file suffix each kind is stored under.
        var suffix: String {
            switch self {
            case .dataset: Kind.dataset.rawValue
            case .table: Kind.table.rawValue
            }
        }
    }

    /// The stored kinds by file suffix.
    private enum Kind: String, CaseIterable {
        case dataset = ".pb"
        case table = ".table"
    }

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
            guard !file.hasPrefix("."), let kind = Kind.allCases.first(where: { file.hasSuffix($0.rawValue) }) else {
                continue
            }
            let name = String(file.dropLast(kind.rawValue.count))
            let path = "\(directory)/\(file)"
            let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
            if let stored = known[name], let modified, stored.modified == modified {
                found[name] = stored
                continue
            }
            do {
                let bytes = try DurableFiles.read(path)
                let rows: Rows =
                    kind == .table
                    ? .table(try V1.LabelledTable(serializedBytes: bytes))
                    : .dataset(try V1.Dataset(serializedBytes: bytes))
                let info = Self.info(
                    name: name,
                    rows: rows,
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

    /// Stores an uploaded dataset after validating it (a table, or numeric rows, replacing either kind).
    /// - Throws: `ModelwireError`: invalid_argument, already_exists, resource_exhausted (quota).
    func save(name: String, rows: Rows, replace: Bool) throws -> V1.DatasetInfo {
        try ResourceName.validate(name, "dataset")
        let bytes: [UInt8]
        switch rows {
        case .dataset(let dataset):
            // Shape, labels, values; training checks the classes.
            _ = try Dataset(wire: dataset, requireTwoClasses: false)
            bytes = try dataset.serializedBytes()
        case .table(let table):
            try Self.validate(table)
            bytes = try table.serializedBytes()
        }
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
        let path = "\(directory)/\(name)\(rows.suffix)"
        try DurableFiles.write(bytes, to: path)
        for other in Kind.allCases where other.rawValue != rows.suffix {
            let stale = "\(directory)/\(name)\(other.rawValue)"
            if FileManager.default.fileExists(atPath: stale) { try DurableFiles.remove(stale) }
        }
        let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
        let info = Self.info(name: name, rows: rows, size: UInt64(bytes.count), created: modified ?? Date())
        state.withLock { $0[name] = Stored(info: info, modified: modified) }
        return info
    }

    /// The numeric rows of a stored dataset, for the calls that take no table.
    /// - Throws: `ModelwireError`: not_found, or invalid_argument for a dataset stored as a table.
    func dataset(named name: String) throws -> V1.Dataset {
        switch try rows(named: name) {
        case .dataset(let dataset): return dataset
        case .table:
            throw ModelwireError(
                .invalidArgument,
                "dataset \"\(name)\" was uploaded as a table of raw columns: this call takes numeric rows "
                    + "(Train, Evaluate and Explain take table datasets)"
            )
        }
    }

    /// The rows of a stored dataset, of either kind.
    /// - Throws: `ModelwireError` not_found.
    func rows(named name: String) throws -> Rows {
        try ResourceName.validate(name, "dataset")
        if state.withLock({ $0[name] == nil }) { refresh() }  // uploaded to another server since the last poll?
        guard state.withLock({ $0[name] != nil }) else {
            throw ModelwireError(.notFound, "dataset \"\(name)\" does not exist")
        }
        if state.withLock({ !($0[name]?.info.labelColumn.isEmpty ?? true) }) {
            return .table(try V1.LabelledTable(serializedBytes: try DurableFiles.read("\(directory)/\(name).table")))
        }
        return .dataset(try V1.Dataset(serializedBytes: try DurableFiles.read("\(directory)/\(name).pb")))
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
        for kind in Kind.allCases {
            let path = "\(directory)/\(name)\(kind.rawValue)"
            if FileManager.default.fileExists(atPath: path) { try DurableFiles.remove(path) }
        }
        state.withLock { $0[name] = nil }
    }

    /// Refuses a table that could not be trained on or evaluated: its shape, and a label column it has.
    private static func validate(_ labelled: V1.LabelledTable) throws(ModelwireError) {
        do throws(DatasetError) {
            let table = try DataTable(validating: labelled.table ?? V1.Table())
            guard table.column(named: labelled.labelColumn) != nil else {
                throw DatasetError(
                    .missingLabelColumn,
                    message:
                        "label_column '\(labelled.labelColumn)' is not a column of the table (\(table.names.joined(separator: ", ")))"
                )
            }
        } catch {
            throw ModelwireError(.invalidArgument, error.message, cause: error)
        }
    }

    private static func info(name: String, rows: Rows, size: UInt64, created: Date) -> V1.DatasetInfo {
        switch rows {
        case .dataset(let dataset): return info(name: name, dataset: dataset, size: size, created: created)
        case .table(let labelled):
            let columns = (labelled.table?.columns ?? []).filter { $0.name != labelled.labelColumn }
            let label = labelled.table?.columns.first { $0.name == labelled.labelColumn }
            var classNames: [String] = []
            if case .strings(let texts)? = label?.values { classNames = Dataset.sortedClassNames(Set(texts.values)) }
            return V1.DatasetInfo(
                name: name,
                rows: UInt64(labelled.table?.rowCount ?? 0),
                columns: UInt32(columns.count),
                featureNames: columns.map(\.name),
                classNames: classNames,
                sizeBytes: size,
                createdUnixMs: UInt64(created.timeIntervalSince1970 * 1000),
                labelColumn: labelled.labelColumn
            )
        }
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
