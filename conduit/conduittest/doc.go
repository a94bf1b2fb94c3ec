// Package conduittest runs Conduit on throwaway PostgreSQL databases in
// tests. Call RegisterTemplate in TestMain before pgtest.Main; each test
// then gets a fresh migrated database cloned from the template.
//
//	func TestMain(m *testing.M) {
//		conduittest.RegisterTemplate()
//		pgtest.Main(m)
//	}
//
//	app := conduittest.Start(t, conduittest.NewDatabase(t), nil)
//
// To build the application with settings of its own, open the event store
// with NewStore, as cmd/conduit does:
//
//	db := conduittest.NewDatabase(t)
//	app, err := conduit.New(ctx, conduit.Config{Store: conduittest.NewStore(t, db), DB: db,
//		ClaimsKey: conduittest.ClaimsKey, MasterKey: conduittest.MasterKey})
package conduittest
