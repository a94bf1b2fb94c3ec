// Package doccheck checks that a package documents every exported
// identifier the way Go's convention asks: a package comment in doc.go,
// and on each exported type, function, method of an exported type,
// constant and variable a doc comment that starts with its name and ends
// as a sentence does. Its test runs the check over the runtime's public
// packages.
package doccheck
