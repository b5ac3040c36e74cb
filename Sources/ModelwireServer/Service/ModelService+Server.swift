import ModelwireCodec

extension ModelService {
    /// Health: liveness, readiness (repository loaded, not draining) and counts.
    func health(_ request: V1.HealthRequest, _ call: CallContext) -> V1.HealthResponse {
        let counts = jobs.counts
        return V1.HealthResponse(
            live: true,
            ready: repository.isLoaded && !isDraining,
            draining: isDraining,
            modelsLoaded: UInt32(repository.versionCount),
            jobsRunning: UInt32(counts.running),
            jobsQueued: UInt32(counts.queued)
        )
    }

    /// ServerInfo: name, versions, limits and the schema's descriptor set (unless the request
    /// omits it: clients that have the schema need not fetch ~48 KB per call).
    func serverInfo(_ request: V1.ServerInfoRequest, _ call: CallContext) -> V1.ServerInfoResponse {
        guard request.omitFileDescriptorSet else { return info }
        var brief = info
        brief.fileDescriptorSet = []
        return brief
    }
}
