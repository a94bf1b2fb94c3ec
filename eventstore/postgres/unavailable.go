package postgres

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cohort-dev/cohort/eventstore"
)

// unavailableCodes are the SQLSTATEs that say the server is unavailable or
// that the transaction lost a conflict; class 08 (connection exception)
// is matched by its prefix.
var unavailableCodes = map[string]string{
	"57P01": "57P01 admin_shutdown: the server is shutting down or terminated the session",
	"57P02": "57P02 crash_shutdown: the server is recovering from a crash",
	"57P03": "57P03 cannot_connect_now: the server is starting up or shutting down",
	"57P05": "57P05 idle_session_timeout",
	"53300": "53300 too_many_connections",
	"40001": "40001 serialization_failure",
	"40P01": "40P01 deadlock_detected",
}

// ClassifyUnavailable returns err wrapped in an
// *eventstore.UnavailableError (which unwraps to
// eventstore.ErrUnavailable and to err) when it says that PostgreSQL
// cannot be reached or is restarting, that the connection was lost or
// could not be had in time, or that the transaction lost a serialization
// or deadlock conflict; otherwise it returns err unchanged. It matches by
// SQLSTATE and by error type, never by message. An error the server
// answered with another code (a missing database, a wrong password, a
// constraint violation) is not unavailability.
func ClassifyUnavailable(err error) error {
	if reason := unavailableReason(err); reason != "" {
		return &eventstore.UnavailableError{Reason: reason, Err: err}
	}
	return err
}

// unavailableReason says why err means unavailability, or "".
func unavailableReason(err error) string {
	var pgErr *pgconn.PgError
	var connErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case err == nil, errors.Is(err, eventstore.ErrUnavailable):
		return ""
	case errors.As(err, &pgErr):
		if reason, ok := unavailableCodes[pgErr.Code]; ok {
			return reason
		}
		if len(pgErr.Code) == 5 && pgErr.Code[:2] == "08" {
			return pgErr.Code + " connection_exception"
		}
		return ""
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF), errors.Is(err, pgconn.ErrConnClosed):
		return "connection lost"
	case errors.Is(err, context.DeadlineExceeded), pgconn.Timeout(err):
		return "timeout: no connection or no answer in time"
	case errors.As(err, &connErr):
		return "cannot connect"
	case errors.As(err, &netErr):
		return "network error"
	}
	return ""
}
