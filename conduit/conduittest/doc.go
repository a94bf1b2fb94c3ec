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
package conduittest
