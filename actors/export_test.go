package actors

// LiveAggregates returns how many aggregate actors are in memory: spawned
// and not yet terminated (those being passivated count until they stop).
func LiveAggregates(a *App) int { return int(a.live.Load()) }
