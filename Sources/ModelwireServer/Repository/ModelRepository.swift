import Foundation
import Logging
import ModelwireCodec
import ModelwireML
import ModelwireProtocol
import Synchronization

/// The versioned model repository on disk, and the loaded models the server predicts with.
///
/// Layout: `<root>/<model>/<version>/model.pb` (a `V1.ModelFile`) and `<root>/<model>/aliases.pb`
/// (a `V1.ModelSummary` holding only the aliases). A version directory is written under a hidden
/// staging name, fsynced, then renamed into place, so a crash leaves either no version or a
/// whole one; leftovers (`.staging-*`, `.trash-*`, `.tmp-*`) are removed at load. Names starting
/// with '.' are never model names, so hidden entries cannot collide with models.
///
/// Thread-safe: state lives in a `Mutex`; lookups on the predict hot path take it briefly.
final class ModelRepository: Sendable {
    private struct ModelRecord {
        var versions: [UInt32: Entry] = [:]
        var aliases: [String: UInt32] = [:]
        /// Highest version ever stored while this process runs (also covers deleted ones).
        var highestVersion: UInt32 = 0

        /// What a refresh compares: the versions and the aliases.
        var signature: [String] {
            versions.keys.sorted().map { "\($0)" } + aliases.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        }
    }

    private struct State {
        var models: [String: ModelRecord] = [:]
        var loaded = false
        /// Counts this server's own changes (a number taken, a version stored or deleted, an
        /// alias set): a refresh whose scan overlapped one is dropped, since it may predate it.
        var generation: UInt64 = 0
    }

    let root: String
    private let logger: Logger
    private let state = Mutex(State())

    /// - Parameter root: The repository directory (created if missing).
    init(root: String, logger: Logger) {
        self.root = (root as NSString).standardizingPath
        self.logger = logger
    }

    /// Holds the highest version a model ever had once a version was deleted, so that version
    /// numbers are never reused, across restarts too.
    static let highestVersionFile = ".highest-version"

    /// The alias every model has: its newest version (the same as no selector). Reserved.
    static let latestAlias = "latest"

    /// Whether `load()` has finished.
    var isLoaded: Bool { state.withLock { $0.loaded } }

    /// The number of loaded model versions.
    var versionCount: Int { state.withLock { $0.models.values.reduce(0) { $0 + $1.versions.count } } }

    /// Loads every valid version; corrupt ones are logged and skipped, never fatal. Leftovers of
    /// writes that died (`.staging-*`, `.trash-*`, `.tmp-*`) are removed, unless another live
    /// server may still be writing them (`WriterTag`).
    /// - Returns: One line per problem found.
    @discardableResult
    func load() throws -> [String] {
        try DurableFiles.makeDirectory(root)
        let (models, problems) = scan(reusing: [:], removeLeftovers: true)
        for problem in problems { logger.warning("repository: \(problem)") }
        state.withLock {
            $0.models = models
            $0.loaded = true
        }
        logger.info(
            "repository loaded",
            metadata: [
                "modelwire.repository": "\(root)",
                "modelwire.versions": "\(versionCount)",
            ]
        )
        return problems
    }

    /// Reads the repository again (`--repository-poll-ms`): versions, aliases and deletions that
    /// other servers on the same directory wrote since appear here. A version appears whole or not
    /// at all (it is renamed into place complete), an alias only with its version, and versions
    /// already loaded are not read again.
    /// - Returns: Whether anything changed.
    @discardableResult
    func refresh() -> Bool {
        let (known, generation) = state.withLock { ($0.models, $0.generation) }
        let (models, problems) = scan(reusing: known, removeLeftovers: false)
        // Compared outside the lock, which the predict path takes: the disk against what was known.
        guard models.mapValues(\.signature) != known.mapValues(\.signature) else { return false }
        let applied = state.withLock { state -> Bool in
            // A change of this server's own during the scan: the scan may predate it; the next poll retries.
            guard state.generation == generation else { return false }
            var merged = models
            for (name, record) in known where merged[name] != nil {  // a number being taken stays taken
                merged[name]!.highestVersion = max(merged[name]!.highestVersion, record.highestVersion)
            }
            state.models = merged
            return true
        }
        guard applied else { return false }
        for problem in problems { logger.warning("repository: \(problem)") }
        logger.info("repository changed on disk", metadata: ["modelwire.versions": "\(versionCount)"])
        return true
    }

    /// Every model on disk; `known` entries are reused rather than read again.
    private func scan(
        reusing known: [String: ModelRecord],
        removeLeftovers: Bool
    ) -> (models: [String: ModelRecord], problems: [String]) {
        var problems: [String] = []
        var models: [String: ModelRecord] = [:]
        let fm = FileManager.default
        for name in (try? fm.contentsOfDirectory(atPath: root))?.sorted() ?? [] where !name.hasPrefix(".") {
            let modelDirectory = "\(root)/\(name)"
            guard (try? ResourceName.validate(name, "model")) != nil else {
                problems.append("\(modelDirectory): not a valid model name; skipped")
                continue
            }
            var record = ModelRecord()
            for entry in (try? fm.contentsOfDirectory(atPath: modelDirectory)) ?? [] {
                if entry.hasPrefix(".staging-") || entry.hasPrefix(".trash-") || entry.hasPrefix(".tmp-") {
                    if removeLeftovers, WriterTag.isAbandoned(entry, in: modelDirectory) {
                        try? fm.removeItem(atPath: "\(modelDirectory)/\(entry)")  // an interrupted write or delete
                    }
                    continue
                }
                guard let version = UInt32(entry), version > 0 else { continue }
                record.highestVersion = max(record.highestVersion, version)
                if let entry = known[name]?.versions[version] {
                    record.versions[version] = entry
                    continue
                }
                do {
                    let path = "\(modelDirectory)/\(entry)/model.pb"
                    let bytes = try DurableFiles.read(path)
                    record.versions[version] = try Self.entry(bytes: bytes, name: name, version: version)
                } catch {
                    problems.append("\(modelDirectory)/\(entry): \(error); skipped")
                }
            }
            record.highestVersion = max(record.highestVersion, Self.recordedHighest(modelDirectory))
            if let bytes = try? DurableFiles.read("\(modelDirectory)/aliases.pb") {
                if let summary = try? V1.ModelSummary(serializedBytes: bytes) {
                    for alias in summary.aliases where record.versions[alias.version] != nil {
                        record.aliases[alias.name] = alias.version
                    }
                } else {
                    problems.append("\(modelDirectory)/aliases.pb: unreadable; aliases of \(name) dropped")
                }
            }
            if !record.versions.isEmpty { models[name] = record }
        }
        return (models, problems)
    }

    /// The `.highest-version` file of a model directory (0 when there is none).
    private static func recordedHighest(_ modelDirectory: String) -> UInt32 {
        guard let bytes = try? DurableFiles.read("\(modelDirectory)/\(highestVersionFile)") else { return 0 }
        return UInt32(String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }

    /// The highest version number `name` has on disk: its version directories and `.highest-version`.
    private func highestOnDisk(_ name: String) -> UInt32 {
        let modelDirectory = "\(root)/\(name)"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: modelDirectory)) ?? []).compactMap {
            UInt32($0)
        }
        return max(versions.max() ?? 0, Self.recordedHighest(modelDirectory))
    }

    /// Version 0 is never a version (PROTOCOL.md §14): invalid_argument, whether or not the model exists.
    static let versionZero = ModelwireError(
        .invalidArgument,
        "version 0 is not a version: versions start at 1 (leave the version out for the newest)"
    )

    /// The loaded version a reference names: an exact version, an alias, or the latest.
    /// - Throws: `ModelwireError` not_found (or unavailable while loading).
    func resolve(_ reference: V1.ModelRef?) throws(ModelwireError) -> Entry {
        guard let reference, !reference.name.isEmpty else {
            throw ModelwireError(.invalidArgument, "no model name given")
        }
        if case .version(0)? = reference.selector { throw Self.versionZero }
        let name = reference.name
        let result: Result<Entry, ModelwireError> = state.withLock { state in
            guard state.loaded else {
                return .failure(
                    ModelwireError(.unavailable, "the model repository is still loading", retryAfterMilliseconds: 100)
                )
            }
            guard let record = state.models[name] else {
                if let invalid = Result(catching: { () throws(ModelwireError) in
                    try ResourceName.validate(name, "model")
                }).failure {
                    return .failure(invalid)
                }
                return .failure(ModelwireError(.notFound, "model \"\(name)\" does not exist"))
            }
            switch reference.selector {
            case .version(let v)?:
                guard let entry = record.versions[v] else {
                    return .failure(ModelwireError(.notFound, "model \"\(name)\" has no version \(v)"))
                }
                return .success(entry)
            case .alias(Self.latestAlias)?:
                return .success(record.versions[record.versions.keys.max()!]!)
            case .alias(let alias)?:
                guard let v = record.aliases[alias], let entry = record.versions[v] else {
                    return .failure(ModelwireError(.notFound, "model \"\(name)\" has no alias \"\(alias)\""))
                }
                return .success(entry)
            case nil:
                return .success(record.versions[record.versions.keys.max()!]!)
            }
        }
        return try result.get()
    }

    /// Stores a model file as the next version of `name`, durably, then makes it servable.
    /// - Parameter file: The file to store; its `name`, `version` and `created` are set here.
    /// - Returns: The new entry.
    func store(_ file: V1.ModelFile, name: String) throws -> Entry {
        try ResourceName.validate(name, "model")
        let modelDirectory = "\(root)/\(name)"
        try DurableFiles.makeDirectory(modelDirectory)
        var file = file
        file.name = name
        if file.createdUnixMs == 0 { file.createdUnixMs = UInt64(Date().timeIntervalSince1970 * 1000) }
        // The number is taken by renaming a complete version into place: a rename onto a version
        // another server (on the same directory) took meanwhile fails, and the next number is tried.
        for _ in 0..<1000 {
            let onDisk = highestOnDisk(name)
            let version: UInt32 = state.withLock { state in
                var record = state.models[name] ?? ModelRecord()
                let next = max(record.highestVersion, record.versions.keys.max() ?? 0, onDisk) + 1
                record.highestVersion = next
                state.models[name] = record
                state.generation += 1
                return next
            }
            file.version = version
            let bytes = try file.serializedBytes()
            let entry = try Self.entry(bytes: bytes, name: name, version: version)
            let staging = "\(modelDirectory)/.staging-\(version)-\(WriterTag.current)-\(UInt64.random(in: 0 ... .max))"
            try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: false)
            try DurableFiles.writeAndSync(bytes, to: "\(staging)/model.pb")
            try DurableFiles.syncDirectory(staging)
            guard rename(staging, "\(modelDirectory)/\(version)") == 0 else {
                let failure = errno
                try? FileManager.default.removeItem(atPath: staging)
                if failure == ENOTEMPTY || failure == EEXIST { continue }  // another server took the number
                throw DurableFiles.Failure(operation: "rename", path: staging, errno: failure)
            }
            try DurableFiles.syncDirectory(modelDirectory)
            state.withLock {
                $0.models[name, default: ModelRecord()].versions[version] = entry
                $0.generation += 1
            }
            logger.info("model stored", metadata: ["modelwire.model": "\(name)", "modelwire.version": "\(version)"])
            return entry
        }
        throw ModelwireError(
            .aborted,
            "could not take a version number for \"\(name)\": other servers keep taking them"
        )
    }

    /// Deletes one version, or the whole model when `version` is nil. Aliases to deleted versions go too.
    /// - Returns: The deleted versions.
    func delete(name: String, version: UInt32?) throws -> [UInt32] {
        if version == 0 { throw Self.versionZero }
        try ResourceName.validate(name, "model")
        let modelDirectory = "\(root)/\(name)"
        guard let record = state.withLock({ $0.models[name] }) else {
            throw ModelwireError(.notFound, "model \"\(name)\" does not exist")
        }
        if let version {
            guard record.versions[version] != nil else {
                throw ModelwireError(.notFound, "model \"\(name)\" has no version \(version)")
            }
            if record.versions.count == 1 { return try delete(name: name, version: nil) }
            // Recorded before the version goes, so that a restart never hands its number out again.
            let highest = max(record.highestVersion, record.versions.keys.max() ?? 0, highestOnDisk(name))
            try DurableFiles.write(Array("\(highest)\n".utf8), to: "\(modelDirectory)/\(Self.highestVersionFile)")
            try DurableFiles.remove("\(modelDirectory)/\(version)")
            try withModelLock(name) {
                let onDisk = aliasesOnDisk(name)
                let aliases = state.withLock { state -> [String: UInt32] in
                    guard var record = state.models[name] else { return [:] }
                    record.versions[version] = nil
                    record.aliases.merge(onDisk.filter { record.versions[$0.value] != nil }) { $1 }
                    record.aliases = record.aliases.filter { $0.value != version }
                    state.models[name] = record
                    state.generation += 1
                    return record.aliases
                }
                try writeAliases(name: name, aliases: aliases)
                state.withLock { $0.generation += 1 }  // a scan between the two saw neither
            }
            return [version]
        }
        try DurableFiles.remove(modelDirectory)
        state.withLock {
            $0.models[name] = nil
            $0.generation += 1
        }
        return record.versions.keys.sorted()
    }

    /// Sets or moves an alias.
    /// - Returns: The version the alias pointed to before, if any.
    func setAlias(name: String, alias: String, version: UInt32) throws -> UInt32? {
        if version == 0 { throw Self.versionZero }
        try ResourceName.validate(name, "model")
        try ResourceName.validate(alias, "alias")
        guard alias != Self.latestAlias else {
            throw ModelwireError(.invalidArgument, "\"latest\" is reserved: it always names the newest version")
        }
        guard !alias.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
            throw ModelwireError(
                .invalidArgument,
                "alias \"\(alias)\" is all digits, which reads as a version number; add a letter"
            )
        }
        if state.withLock({ $0.models[name]?.versions[version] }) == nil { refresh() }  // stored by another server?
        return try withModelLock(name) { () throws -> UInt32? in
            let onDisk = aliasesOnDisk(name)
            let result: Result<(UInt32?, [String: UInt32]), ModelwireError> = state.withLock { state in
                guard var record = state.models[name] else {
                    return .failure(ModelwireError(.notFound, "model \"\(name)\" does not exist"))
                }
                guard record.versions[version] != nil else {
                    return .failure(ModelwireError(.notFound, "model \"\(name)\" has no version \(version)"))
                }
                // Other servers' alias changes since the last refresh are kept: the file is the truth.
                record.aliases.merge(onDisk.filter { record.versions[$0.value] != nil }) { $1 }
                let previous = record.aliases[alias]
                record.aliases[alias] = version
                state.models[name] = record
                state.generation += 1
                return .success((previous, record.aliases))
            }
            let (previous, aliases) = try result.get()
            try writeAliases(name: name, aliases: aliases)
            state.withLock { $0.generation += 1 }  // a scan between the two read the old file
            return previous
        }
    }

    /// The aliases in `name`'s aliases.pb (none when it is missing or unreadable).
    private func aliasesOnDisk(_ name: String) -> [String: UInt32] {
        guard let bytes = try? DurableFiles.read("\(root)/\(name)/aliases.pb"),
            let summary = try? V1.ModelSummary(serializedBytes: bytes)
        else { return [:] }
        return Dictionary(summary.aliases.map { ($0.name, $0.version) }) { _, last in last }
    }

    /// Runs `body` holding `name`'s lock file (`flock`), which orders the aliases' read-modify-write
    /// between servers sharing the repository.
    private func withModelLock<R>(_ name: String, _ body: () throws -> R) throws -> R {
        let path = "\(root)/\(name)/.lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw DurableFiles.Failure(operation: "open", path: path, errno: errno) }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw DurableFiles.Failure(operation: "flock", path: path, errno: errno) }
        }
        defer { flock(fd, LOCK_UN) }
        return try body()
    }

    /// Every model with its versions (metadata only) and aliases, sorted by name.
    func list() -> [V1.ModelSummary] {
        state.withLock { state in
            state.models.keys.sorted().map { name in
                let record = state.models[name]!
                return V1.ModelSummary(
                    name: name,
                    versions: record.versions.keys.sorted().map {
                        Self.info(record.versions[$0]!, aliases: record.aliases)
                    },
                    aliases: record.aliases.sorted { $0.key < $1.key }.map { V1.Alias(name: $0.key, version: $0.value) }
                )
            }
        }
    }

    /// The metadata of one version.
    func describe(_ reference: V1.ModelRef?) throws(ModelwireError) -> V1.ModelVersionInfo {
        let entry = try resolve(reference)
        let aliases = state.withLock { $0.models[entry.name]?.aliases ?? [:] }
        return Self.info(entry, aliases: aliases)
    }

    /// The stored bytes of a version's model file.
    func export(_ reference: V1.ModelRef?) throws -> V1.ExportModelResponse {
        let entry = try resolve(reference)
        let bytes = try DurableFiles.read("\(root)/\(entry.name)/\(entry.version)/model.pb")
        return V1.ExportModelResponse(name: entry.name, version: entry.version, modelFile: bytes)
    }

    private func writeAliases(name: String, aliases: [String: UInt32]) throws {
        let summary = V1.ModelSummary(
            name: name,
            aliases: aliases.sorted { $0.key < $1.key }.map { V1.Alias(name: $0.key, version: $0.value) }
        )
        try DurableFiles.write(try summary.serializedBytes(), to: "\(root)/\(name)/aliases.pb")
    }
}

extension Result {
    /// The error of a failed result.
    fileprivate var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
