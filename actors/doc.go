// Package actors is Cohort's runtime: Commanded's programming model — a
// command router, aggregates, event handlers and process managers — on
// protoactor-go actors over an event store.
//
// Commands and events are plain structs. Define an aggregate type by its
// state (which applies events), the events it declares, and for each
// command type the function that decides it and the function that returns
// the id of the instance it goes to; then register the definition:
//
//	users := actors.Define[*User](actors.AggregateType{Name: "user"}, UserRegistered{}, EmailChanged{})
//	actors.Handle(users, func(c RegisterUser) string { return c.UserID }, (*User).Register, actors.Creating())
//	actors.Handle(users, func(c ChangeEmail) string { return c.UserID }, (*User).ChangeEmail,
//		actors.Defaults(actors.WithConsistency(actors.Strong), actors.WithTimeout(2*time.Second)),
//		actors.RouteLifespan(actors.IdleLifespan(time.Minute)))
//
//	app, err := actors.New(actors.Config{Store: store})
//	...
//	if err := app.Register(users); err != nil { ... } // every wiring mistake, joined
//	if err := app.Start(ctx); err != nil { ... }
//	res, err := app.Dispatch(ctx, RegisterUser{...})
//
// Handle binds a command type to its aggregate's state type at compile
// time and panics on a mistake within one definition (a command handled
// twice, route defaults that belong to one dispatch), as http.ServeMux
// does; App.Register checks a definition against
// everything registered (aggregate names, routed commands, event names)
// and registers nothing when it fails. Events are registered by value
// under their type's name (Registry.Events). An event an aggregate
// returns that nobody registered fails that dispatch with an
// *UnregisteredEventError, appending nothing: declare each aggregate's
// events in Define so that they are registered before Start.
//
// The untyped registrations remain: RegisterEvent names an event type by
// hand, App.RegisterAggregate registers an Aggregate (whose Execute
// decides every command routed to it), and Route routes a command type to
// an aggregate type by name.
//
// # How a command flows
//
// Dispatch runs the middleware chain, then sends the command to one of the
// aggregate type's shard actors (by a hash of the id). The shard is the
// parent and supervisor of the aggregate actors whose ids hash to it: it
// spawns an instance on its first command, forwards commands to it, and
// passivates it (after its Lifespan, or least recently used beyond
// Config.MaxLiveAggregates), buffering commands for an instance while it
// stops. The aggregate actor loads its state lazily (snapshot, then the
// events after it; a command routed with Creating skips that read and
// appends as to a new stream, loading only if the stream exists), runs
// Execute, appends the events with the version it holds as expected
// version (on a conflict with another process it catches up and retries),
// applies them, and answers the caller on a channel. A
// panic answers ErrAggregateStopped and restarts the actor, which reloads.
//
// # Across a cluster
//
// With Config.Cluster, the App is a member of a protoactor-go cluster
// (membership from a ClusterConfig.Provider, e.g. actors/cluster/postgres;
// gRPC between members). Each aggregate type's shards are a cluster kind
// ("cohort.aggregate.<name>"), the shard number its identity: protoactor's
// disthash places each shard on one member by rendezvous hashing and moves
// it when members join or leave, so an aggregate has one activation in the
// cluster in steady state, and passivation, snapshots and idempotency work
// as in one process. The expected version of every append stays the fence
// should two activations overlap (after a partition): such appends fail
// and are retried, and are counted (cohort.aggregate.version_conflicts).
//
// Dispatch finds the shard through the cluster. A shard on this member
// gets the command as is, without encoding. A shard elsewhere gets it as
// JSON in a protobuf anypb.Any (the command's payload under its registered
// or Go type name, its ids, metadata, options, the time left until its
// deadline and its trace context), in one request bounded by the
// deadline. A command that crosses members is idempotent under its id
// (given or generated), so it is sent again when it provably did not
// arrive (a dead letter: the shard moved) and when the member it was sent
// to leaves the topology before answering (it died: the shard's next
// member answers with the first outcome if the dead one had appended it);
// never after a timeout, whose outcome is unknown as in one process. The
// reply carries the Result (events by
// their registered names, the state decoded into the aggregate's own type)
// or the error: the runtime's own errors, and those registered with
// Registry.RegisterError and RegisterErrorType, match on the caller as
// they did where the command ran; any other arrives as a *RemoteError.
// Every member registers the same aggregates, routes, events and errors,
// with the same Shards and MaxLiveAggregates, and runs a release that
// speaks the same ClusterProtocol (a membership provider such as
// actors/cluster/postgres refuses a node that does not). A strongly
// consistent dispatch waits on its own member for the progress the store
// pushes, whichever member ran the command. Close finishes the dispatches in
// flight and the handlers, then leaves the cluster: its shards stop after
// the commands they hold, and the other members take them over.
//
// Execute may also return StreamWrite values among its events: appends to
// other streams, each with its own expected version, written in the same
// atomic append as the aggregate's events (eventstore.MultiAppender). A
// uniqueness claim is one: the claim stream created, or a released one
// taken, in the same durable commit as the event that uses the value, so
// nothing is ever claimed by a command that did not happen. A refused
// StreamWrite fails the command with a *StreamWriteError and writes
// nothing (see ExampleStreamWrite).
//
// Event handlers and process managers each own a persistent subscription
// to $all (one active subscriber across processes), except a transient
// handler (HandlerConfig.Transient: for state held in memory), which
// starts over on every start in every process. With Config.Placement, or
// in a cluster without one (rendezvous hashing over the member ids of
// every topology the cluster publishes), each node runs only the
// persistent subscriptions it owns, so they spread over the nodes and
// move, handed over after their current batches, when membership changes;
// the store's lease stays the guarantee of one writer, and a subscription
// left without a holder for Config.OrphanTimeout is taken over by any
// node. A handler may follow one
// stream instead (HandlerConfig.Stream), want only some event types
// (HandlerConfig.Events), prepare itself on each start (HandlerInit) and
// clear its state when it starts over (HandlerReset, App.ResetHandler);
// its error policy gets a Failure with the attempt count, the error, when
// the event first failed and the last retry's delay. A goroutine pumps its
// batches into the handler's actor, which calls the handler in order (or
// fans out to partition workers) and acknowledges up to the last event all
// partitions finished. A process manager's coordinator routes each event to
// instance actors that run in parallel, persists their states in batches,
// and acknowledges only what every instance finished and persisted. The
// commands an instance dispatches carry ids derived from the event, and
// aggregates remember recent command ids, so a redelivered event never
// takes effect twice. The subscriptions of an App decode each stored event
// once between them and hand the same Event to every handler and process
// manager: an Event is read-only (events of a type with personal fields
// are decoded for each subscription).
//
// A strongly consistent dispatch returns once every strongly consistent
// handler has processed the global position of the command's last event;
// App.WaitFor does the same for any handler and position. The handler may
// run in another process on the same store: a store that is a
// ProgressWatcher pushes its stored checkpoints to every process. Either
// may be called while the caller holds a transaction open on the event
// store's database, even one that wrote: the PostgreSQL store appends on
// its own connections, and its horizon waits only for transactions that
// appended events, so the wait never waits for the caller's transaction.
//
// App.WaitForCausal waits for a whole workflow instead: until the named
// handlers, and every process manager, have handled every event that
// carries a command's correlation id, including the events of the commands
// process managers dispatched for it.
//
// Personal data is crypto-shredded. Fields of events, aggregate states and
// process-manager states tagged cohort:"personal" are stored encrypted
// (AES-256-GCM) with the data key of their subject, named by the field
// tagged cohort:"subject" (an aggregate state's subject defaults to the
// aggregate's id); the keys are kept by the store (eventstore.KeyStore),
// wrapped with Config.Personal.MasterKey, and Start refuses to run with
// personal data registered and no master key, or a wrong one.
// App.Forget deletes a subject's key in every process: from then on its
// personal fields decode as ForgottenPlaceholder (strings) or zero values,
// everywhere events and states are decoded.
package actors
