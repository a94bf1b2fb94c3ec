package actors

// LiveAggregates returns how many aggregate actors are in memory: spawned
// and not yet terminated (those being passivated count until they stop).
func LiveAggregates(a *App) int { return int(a.live.Load()) }

// VersionConflicts returns how many appends of aggregates met another
// writer's events (cohort.aggregate.version_conflicts).
func VersionConflicts(a *App) int64 { return a.conflicts.Load() }

// ClusterMembers returns how many members the App's cluster has in its
// member list (0 without a cluster).
func ClusterMembers(a *App) int {
	if a.cluster == nil {
		return 0
	}
	return a.cluster.c.MemberList.Members().Len()
}
