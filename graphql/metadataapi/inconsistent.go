package metadataapi

// Inconsistencies lists what get_inconsistent_metadata reports, one line
// each ("type name: reason"), for /healthz (graphql.Config.Inconsistencies).
func (h *Handler) Inconsistencies() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]string, 0, len(h.incons))
	for _, i := range h.incons {
		out = append(out, i.Type+" "+i.Name+": "+i.Reason)
	}
	return out
}
