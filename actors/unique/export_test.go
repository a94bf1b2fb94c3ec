package unique

// StreamID exposes streamID to the tests.
var StreamID = streamID
