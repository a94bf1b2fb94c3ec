package actors

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
)

// Applier is the state of an aggregate defined with Define: it evolves by
// one event at a time, given as its payload, and cannot fail (Aggregate's
// and ProcessManager's Apply). Its commands are decided by the
// functions Handle binds to it, so it has no Execute of its own.
type Applier interface {
	Apply(event any)
}

// Definition is an aggregate type whose state is A (a pointer to a
// struct): its settings, the events it declares and, per command type, the
// function that decides the command and the id of the instance it goes
// to. Build it with Define and Handle, then pass it to App.Register:
//
//	accounts := actors.Define[*Account](actors.AggregateType{Name: "account"},
//		AccountOpened{}, MoneyDeposited{})
//	actors.Handle(accounts, func(c OpenAccount) string { return c.AccountID }, (*Account).open, actors.Creating())
//	actors.Handle(accounts, func(c DepositMoney) string { return c.AccountID }, (*Account).deposit)
//	err := app.Register(accounts)
//
// A command type is bound to its aggregate type at compile time: Handle
// takes a func(A, C), so a command handled by an aggregate it does not
// belong to does not compile, and the aggregate needs no case for
// commands it does not know. A Definition does not depend on an App: the
// test kit decides commands with it directly (see Execute).
type Definition[A Applier] struct {
	typ    AggregateType
	events []any
	routes map[reflect.Type]route
	decide map[reflect.Type]func(A, any) ([]any, error)
}

// Define starts the definition of an aggregate type whose state is A.
// t.Name is required; t.New must be nil (a new instance is a new A, a
// pointer to a zero struct). events are the values of the event types the
// aggregate returns: App.Register registers each under its type's name
// (see Registry.Events).
//
// Go cannot see which events a function returns before it runs: an event
// the aggregate returns that nobody registered fails that dispatch with
// an *UnregisteredEventError (ErrUnregisteredEvent) and appends nothing.
// Declaring the events here turns that into a registration made before
// Start.
func Define[A Applier](t AggregateType, events ...any) *Definition[A] {
	return &Definition[A]{
		typ:    t,
		events: events,
		routes: make(map[reflect.Type]route),
		decide: make(map[reflect.Type]func(A, any) ([]any, error)),
	}
}

// Handle routes commands of type C to d's aggregate type: identity returns
// the id of the instance a command goes to, and decide decides it against
// that instance's state (a method expression such as (*Account).Deposit
// fits). decide returns the events the command causes, or an error that
// refuses it, and must not change the state. opts are the route's options
// (Creating, Defaults).
//
// Like http.ServeMux, Handle panics on a wiring mistake it can see: a nil
// function, a command type d already handles, or route defaults that
// belong to one dispatch (see Defaults). Conflicts with other
// registrations are App.Register's error.
func Handle[A Applier, C any](d *Definition[A], identity func(C) string, decide func(A, C) ([]any, error), opts ...RouteOption) {
	t := reflect.TypeFor[C]()
	switch {
	case identity == nil || decide == nil:
		panic(fmt.Sprintf("actors: Handle %v for %s: nil function", t, d.typ.Name))
	case d.decide[t] != nil:
		panic(fmt.Sprintf("actors: Handle %v for %s: the command is already handled", t, d.typ.Name))
	}
	r, err := newRoute(d.typ.Name, t, func(c any) string { return identity(c.(C)) }, opts)
	if err != nil {
		panic(err.Error())
	}
	if r.lifespan != nil {
		d.typ.Lifespan = withRouteLifespan(d.typ.Lifespan, t, r.lifespan)
	}
	d.routes[t] = r
	d.decide[t] = func(a A, c any) ([]any, error) { return decide(a, c.(C)) }
}

// Name returns the aggregate type's name.
func (d *Definition[A]) Name() string { return d.typ.Name }

// New returns a new instance's state: a pointer to a zero A's struct.
func (d *Definition[A]) New() A {
	return reflect.New(reflect.TypeFor[A]().Elem()).Interface().(A)
}

// Execute decides cmd against state with the function Handle bound to
// cmd's type, as the aggregate's actor does; it changes nothing. A
// command d does not handle is an *UnregisteredCommandError.
func (d *Definition[A]) Execute(state A, cmd any) ([]any, error) {
	decide, ok := d.decide[reflect.TypeOf(cmd)]
	if !ok {
		return nil, &UnregisteredCommandError{Type: fmt.Sprintf("%T", cmd)}
	}
	return decide(state, cmd)
}

// aggregate returns the definition's aggregate type, its routes and its
// declared events, for App.Register: a snapshot, which commands handled
// on d afterwards (for another application) do not change.
func (d *Definition[A]) aggregate() (AggregateType, map[reflect.Type]route, []any, error) {
	d = &Definition[A]{typ: d.typ, events: slices.Clone(d.events), routes: maps.Clone(d.routes), decide: maps.Clone(d.decide)}
	t := d.typ
	if t.New != nil {
		return t, nil, nil, fmt.Errorf("actors: define %s: New is derived from the state type, leave it nil", t.Name)
	}
	if k := reflect.TypeFor[A]().Kind(); k != reflect.Pointer || reflect.TypeFor[A]().Elem().Kind() != reflect.Struct {
		return t, nil, nil, fmt.Errorf("actors: define %s: the state %v is not a pointer to a struct", t.Name, reflect.TypeFor[A]())
	}
	t.New = func() Aggregate { return &defined[A]{d: d, state: d.New()} }
	return t, d.routes, d.events, t.validate()
}

// AggregateDefinition is what App.Register takes: a *Definition of any
// state type.
type AggregateDefinition interface {
	aggregate() (AggregateType, map[reflect.Type]route, []any, error)
}

// Register registers defined aggregate types, before Start: each one's
// events, the aggregate type and its routes. It checks everything before
// it registers anything, and returns every mistake it finds, joined: a
// definition that is invalid, an aggregate name or a command type
// registered twice (here or before), an event type or name taken by
// another registration. After an error nothing of defs is registered.
// Each definition is taken as it is: commands handled on it afterwards
// do not reach this application.
func (a *App) Register(defs ...AggregateDefinition) error {
	if err := a.registering(); err != nil {
		return err
	}
	types := make([]AggregateType, 0, len(defs))
	routes := make(map[reflect.Type]route)
	var events []any
	var errs []error
	for _, def := range defs {
		t, rs, evs, err := def.aggregate()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		_, taken := a.aggregates[t.Name]
		for _, other := range types {
			taken = taken || other.Name == t.Name
		}
		if taken {
			errs = append(errs, fmt.Errorf("actors: aggregate %s already registered", t.Name))
		}
		for _, c := range slices.SortedFunc(maps.Keys(rs), func(x, y reflect.Type) int { return strings.Compare(x.String(), y.String()) }) {
			r := rs[c]
			if old, dup := a.routes[c]; dup {
				errs = append(errs, fmt.Errorf("actors: command %v already routed to %s", c, old.aggregate))
			} else if old, dup := routes[c]; dup {
				errs = append(errs, fmt.Errorf("actors: command %v routed to both %s and %s", c, old.aggregate, r.aggregate))
			}
		}
		maps.Copy(routes, rs)
		types = append(types, t)
		events = append(events, evs...)
	}
	if err := a.registry.canRegister(events); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if err := a.registry.Events(events...); err != nil {
		return err // checked above: not reached
	}
	for _, t := range types {
		a.aggregates[t.Name] = &aggregateKind{app: a, typ: t.withDefaults()}
	}
	maps.Copy(a.routes, routes)
	return nil
}

// defined is a defined aggregate's instance as the aggregate actor runs
// it: the state, and its definition to decide commands. It encodes as
// the state alone, so its snapshots are those of an Aggregate with the
// same fields.
type defined[A Applier] struct {
	d     *Definition[A]
	state A
}

func (i *defined[A]) Execute(cmd any) ([]any, error) { return i.d.Execute(i.state, cmd) }
func (i *defined[A]) Apply(event any)                { i.state.Apply(event) }
func (i *defined[A]) MarshalJSON() ([]byte, error)   { return json.Marshal(i.state) }
func (i *defined[A]) UnmarshalJSON(b []byte) error   { return json.Unmarshal(b, i.state) }
func (i *defined[A]) aggregateState() any            { return i.state }

// stateOf returns what a dispatch returns as an aggregate's state: a
// defined aggregate's own state, any other aggregate itself.
func stateOf(agg Aggregate) any {
	if i, ok := agg.(interface{ aggregateState() any }); ok {
		return i.aggregateState()
	}
	return agg
}
