// Package bad documents little, and outside doc.go.
package bad

// A constant.
const Const = 1

const (
	Grouped = 2
)

var Var int

func Func() {}

// Prefixed is not Prefix.
func Prefix() {}

type T struct{}

func NewT() T { return T{} }

// method is lower case.
func (T) Method() {}

// Fragment has no full stop
func Fragment() {}
