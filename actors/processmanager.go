package actors

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/cohort-dev/cohort/eventstore"
)

// ProcessManager is the state and behaviour of one process instance: a
// long-running conversation that reacts to events by dispatching commands.
//
// Handle decides: it returns the commands an event causes (it sees the
// whole stored event, with its ids and metadata) and must not change the
// state. Apply evolves: it changes the state by one event, given as its
// payload (Event.Payload), and cannot fail; it is the same Apply as an
// Aggregate's. Apply runs once Handle's commands are dispatched. Both run
// in the instance's actor, one event at a time. The state is persisted as
// JSON, with the process manager's StateVersion; a state that fails to
// decode (or is of another version and cannot be upgraded) or to encode is
// an error for the process manager's error policy, never dropped.
type ProcessManager interface {
	Handle(ev Event) ([]any, error)
	Apply(event any)
}

// ProcessRouter is implemented by a process manager type that routes
// events to its instances itself, as Commanded's interested?/1 does: its
// ProcessManagerConfig.Interested may then be nil. Interested is called on
// one value that New returned, never on an instance's state, so it must
// depend on the event alone.
type ProcessRouter interface {
	Interested(ev Event) []Interest
}

// interestKind is what an Interest asks of its instance: to handle the
// event (starting the instance if needed), to start it (failing if it
// exists), to continue it (failing if it does not), or to stop it.
type interestKind int8

const (
	interestStart interestKind = iota
	interestStartStrict
	interestContinue
	interestContinueStrict
	interestStop
)

// Interest routes an event to a process instance.
type Interest struct {
	kind interestKind
	ID   string
}

// StartProcess routes the event to instance id, starting it if needed.
func StartProcess(id string) Interest { return Interest{kind: interestStart, ID: id} }

// StartProcessStrict starts instance id; it fails with ErrProcessExists if
// the instance already exists.
func StartProcessStrict(id string) Interest { return Interest{kind: interestStartStrict, ID: id} }

// ContinueProcess routes the event to instance id, starting it if needed.
func ContinueProcess(id string) Interest { return Interest{kind: interestContinue, ID: id} }

// ContinueProcessStrict routes the event to existing instance id; it fails
// with ErrProcessNotFound if there is none.
func ContinueProcessStrict(id string) Interest { return Interest{kind: interestContinueStrict, ID: id} }

// StopProcess stops instance id and deletes its state; the event itself is
// not handled.
func StopProcess(id string) Interest { return Interest{kind: interestStop, ID: id} }

var (
	// ErrProcessExists reports that StartProcessStrict found the instance.
	ErrProcessExists = errors.New("actors: process instance already exists")
	// ErrProcessNotFound reports that ContinueProcessStrict found no instance.
	ErrProcessNotFound = errors.New("actors: process instance not found")
)

// ProcessManagerConfig registers a process manager.
type ProcessManagerConfig struct {
	// Name identifies the process manager and its subscription; unique among
	// handlers and process managers.
	Name string
	// New returns the state of a new instance.
	New func() ProcessManager
	// Interested routes an event to the instances that handle it; none
	// means the event does not concern this process manager. If nil, the
	// type that New returns must implement ProcessRouter, whose method is
	// used.
	Interested func(ev Event) []Interest
	// StartFrom is where a new process manager starts: Origin or Current.
	StartFrom eventstore.StartFrom
	// Consistency Strong makes strongly consistent dispatches wait for it.
	Consistency Consistency
	// DispatchConsistency Strong makes the commands it dispatches wait for
	// the strongly consistent event handlers (not for process managers,
	// which could be waiting for it in turn), so that what they cause is
	// in the read models by the time its own progress counts.
	DispatchConsistency Consistency
	// OnError decides about failures, including failed commands
	// (Failure.Command, Failure.Refused); default
	// DefaultProcessErrorPolicy, which retries and then skips, and never
	// stops the process manager for one instance's failure.
	OnError ErrorPolicy
	// IdleTimeout passivates an instance idle that long (default 1 min).
	IdleTimeout time.Duration
	// MaxLiveInstances bounds the instances in memory (default 10,000).
	MaxLiveInstances int
	// BatchSize bounds the events per delivered batch (default 100).
	BatchSize int
	// StateVersion is the schema version of the instances' state, stored
	// with it (as AggregateType.SnapshotVersion is with snapshots). Change
	// it when the state's JSON changes shape.
	StateVersion int
	// UpgradeState, if set, turns the JSON of a state stored with another
	// schema version into the JSON of the current one. Without it, such a
	// state is a *ProcessStateError for OnError, as a state that fails to
	// decode is.
	UpgradeState func(version int, state json.RawMessage) (json.RawMessage, error)
	// HandleTimeout bounds handling one event, its commands included, and
	// one save of the instances' states (default 30 s). While the
	// application closes, Close's deadline bounds saves too.
	HandleTimeout time.Duration
}

// validate reports a configuration that cannot run: a missing name or
// constructor, no way to route events, a negative setting.
func (c ProcessManagerConfig) validate() error {
	switch {
	case c.Name == "":
		return errors.New("actors: process manager without a name")
	case c.New == nil:
		return fmt.Errorf("actors: process manager %s: New is required", c.Name)
	case c.Interested == nil:
		if _, ok := c.New().(ProcessRouter); !ok {
			return fmt.Errorf("actors: process manager %s: Interested is required unless %T implements ProcessRouter", c.Name, c.New())
		}
	case c.IdleTimeout < 0 || c.MaxLiveInstances < 0 || c.BatchSize < 0 || c.HandleTimeout < 0:
		return fmt.Errorf("actors: process manager %s: negative setting", c.Name)
	}
	if _, err := planOf(reflect.TypeOf(c.New()), false); err != nil {
		return fmt.Errorf("actors: process manager %s: %w", c.Name, err)
	}
	return nil
}

// withDefaults returns the configuration with every unset setting at its
// default, and Interested taken from a ProcessRouter.
func (c ProcessManagerConfig) withDefaults() ProcessManagerConfig {
	if c.Interested == nil && c.New != nil {
		if r, ok := c.New().(ProcessRouter); ok {
			c.Interested = r.Interested
		}
	}
	if c.OnError == nil {
		c.OnError = DefaultProcessErrorPolicy
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = time.Minute
	}
	if c.MaxLiveInstances == 0 {
		c.MaxLiveInstances = 10_000
	}
	if c.BatchSize == 0 {
		c.BatchSize = 100
	}
	if c.HandleTimeout == 0 {
		c.HandleTimeout = 30 * time.Second
	}
	return c
}

// RegisterProcessManager registers a process manager; it starts with the
// application.
func (a *App) RegisterProcessManager(cfg ProcessManagerConfig) error {
	if err := a.registering(); err != nil {
		return err
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	cfg = cfg.withDefaults()
	r := &pmRunner{cfg: cfg,
		subscribed: newSubscribed(a, KindProcessManager, cfg.Name, ProcessManagerSubscription(cfg.Name), cfg.StartFrom, cfg.BatchSize, cfg.Consistency)}
	return a.addRunner(cfg.Name, r, cfg.Consistency)
}
