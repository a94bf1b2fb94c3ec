package actors

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// route is how commands of one type reach their aggregate: the aggregate
// type, the instance's id, and the route's options. Route and Handle build
// it with newRoute.
type route struct {
	aggregate string
	identity  func(any) string
	creating  bool
	defaults  []DispatchOption // see Defaults
	lifespan  Lifespan         // see RouteLifespan
}

// RouteOption configures a route.
type RouteOption func(*route)

// Creating marks a command that usually starts a new aggregate (register,
// open, publish). Sent to an aggregate that is not in memory, it is
// decided on the new aggregate's state, without reading the stream, and
// appended as the stream's first events. When the stream exists after all,
// the append fails, the aggregate loads and the command is decided again:
// the outcome is the one a load would have given, and only the load's
// read is saved. Commands with an expected version always load.
func Creating() RouteOption { return func(r *route) { r.creating = true } }

// newRoute builds the route of command type cmd to aggregate with opts,
// and refuses defaults that cannot be a route's (see Defaults).
func newRoute(aggregate string, cmd reflect.Type, identity func(any) string, opts []RouteOption) (route, error) {
	r := route{aggregate: aggregate, identity: identity}
	for _, o := range opts {
		o(&r)
	}
	const probe = time.Hour // any positive timeout: a default must keep it positive
	c := r.apply(&Command{ExpectedVersion: NoExpectedVersion, Timeout: probe})
	var wrong string
	switch {
	case c.ID != uuid.Nil:
		wrong = "a command id"
	case c.CausationID != uuid.Nil:
		wrong = "a causation id"
	case c.CorrelationID != uuid.Nil:
		wrong = "a correlation id"
	case c.ExpectedVersion != NoExpectedVersion:
		wrong = "an expected version"
	case c.Timeout <= 0:
		wrong = fmt.Sprintf("the timeout %v", c.Timeout)
	default:
		return r, nil
	}
	return r, fmt.Errorf("actors: route %v to %s: Defaults sets %s, which belongs to one dispatch", cmd, aggregate, wrong)
}

// apply applies the route's defaults to cmd and returns it.
func (r route) apply(cmd *Command) *Command {
	for _, o := range r.defaults {
		o(cmd)
	}
	return cmd
}

// checkRouteHandlers reports, for Start, a route whose default
// consistency waits for a handler that is not registered.
func (a *App) checkRouteHandlers() error {
	types := slices.SortedFunc(maps.Keys(a.routes), func(x, y reflect.Type) int { return strings.Compare(x.String(), y.String()) })
	for _, t := range types {
		c := a.routes[t].apply(&Command{})
		if c.Consistency != Strong {
			continue
		}
		for _, h := range c.Handlers {
			if _, ok := a.handlers[h]; !ok {
				return fmt.Errorf("%w: %q, waited for by the route of %v (Defaults)", ErrHandlerNotFound, h, t)
			}
		}
	}
	return nil
}

// Defaults gives a route dispatch options of its own, as Commanded's
// router takes them per command: a timeout (WithTimeout), a consistency
// (WithConsistency), what results carry (WithReturning), metadata
// (WithMetadata). They apply to every dispatch of the route's command
// type, before the dispatch's own options, which override them.
//
// Options that belong to one dispatch are wiring mistakes as defaults,
// refused when the route is registered: a command id (every dispatch
// after the first would be its duplicate), a causation or correlation id,
// an expected version; so is a timeout that is not positive. A default
// consistency that waits for handlers by name fails App.Start unless
// each is registered (ErrHandlerNotFound).
func Defaults(opts ...DispatchOption) RouteOption {
	return func(r *route) { r.defaults = append(r.defaults, opts...) }
}

// RouteLifespan gives a route a lifespan of its own: after a command of
// the route's type, l decides how long the aggregate stays in memory
// instead of AggregateType.Lifespan (Commanded's router's lifespan
// option).
func RouteLifespan(l Lifespan) RouteOption {
	return func(r *route) { r.lifespan = l }
}

// routeLifespans is an aggregate type's Lifespan when some of its routes
// have their own: AggregateType.lifespan asks forCommand which applies.
type routeLifespans struct {
	base      Lifespan // the aggregate type's own; nil keeps forever
	byCommand map[reflect.Type]Lifespan
}

// withRouteLifespan returns base with l for commands of type cmd. It
// never changes base: an aggregate type registered in one application
// (or a Definition registered before) may share it, and its aggregates
// read it while they run.
func withRouteLifespan(base Lifespan, cmd reflect.Type, l Lifespan) Lifespan {
	r := &routeLifespans{base: base, byCommand: make(map[reflect.Type]Lifespan)}
	if old, ok := base.(*routeLifespans); ok {
		r.base, r.byCommand = old.base, maps.Clone(old.byCommand)
	}
	r.byCommand[cmd] = l
	return r
}

// forCommand returns the lifespan that decides after cmd.
func (r *routeLifespans) forCommand(cmd any) Lifespan {
	if l, ok := r.byCommand[reflect.TypeOf(cmd)]; ok {
		return l
	}
	if r.base == nil {
		return IdleLifespan(Forever)
	}
	return r.base
}

// AfterEvent implements Lifespan with the aggregate type's own lifespan.
func (r *routeLifespans) AfterEvent(ev any) time.Duration { return r.forCommand(nil).AfterEvent(ev) }

// AfterCommand implements Lifespan.
func (r *routeLifespans) AfterCommand(cmd any) time.Duration {
	return r.forCommand(cmd).AfterCommand(cmd)
}

// AfterError implements Lifespan with the aggregate type's own lifespan.
func (r *routeLifespans) AfterError(err error) time.Duration {
	return r.forCommand(nil).AfterError(err)
}
