package good

// Const is a constant.
const Const = 1

// Kinds of things, documented as a group.
const (
	KindA = iota
	KindB
)

const (
	// Own is documented on its own in a group without a comment.
	Own        = 2
	unexported = 3
)

// Var is a variable.
var Var int

// Func does nothing.
func Func() {}

// A T is a type whose comment starts with an article.
type T struct{}

// NewT returns a T.
func NewT() T { return T{} }

// Method does nothing.
func (T) Method() {}

// Generic is a generic type.
type Generic[E any] struct{ e E }

// Get returns its element.
func (g Generic[E]) Get() E { return g.e }

type hidden struct{}

// Exported is a method of an unexported type, which the check leaves.
func (hidden) Exported() {}

func helper() {}

// Listing ends with a code block:
//
//	Listing()
func Listing() {}
