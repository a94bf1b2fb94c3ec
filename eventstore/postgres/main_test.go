package postgres_test

import (
	"context"
	"os"
	"testing"

	"github.com/cohort-dev/cohort/eventstore/postgres"
	"github.com/cohort-dev/cohort/eventstore/postgres/pgtest"
)

const template = "eventstore"

func TestMain(m *testing.M) {
	if conn := os.Getenv(holderEnv); conn != "" {
		runHolder(conn)
		return
	}
	if conn := os.Getenv(leaseHolderEnv); conn != "" {
		runLeaseHolder(conn)
		return
	}
	pgtest.RegisterTemplate(template, func(ctx context.Context, connString string) error {
		pool, err := pgxpoolNew(ctx, connString)
		if err != nil {
			return err
		}
		defer pool.Close()
		return postgres.Migrate(ctx, pool, "")
	})
	pgtest.Main(m)
}
