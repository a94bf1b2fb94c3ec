// Package good documents everything.
package good
