// Package apierr owns what one Graph call leaves behind for the caller: the
// trace identifiers Microsoft support asks for (Call) and a failure classed
// by what the caller does next (Error, Class).
//
// It is stdlib only so that the executor can act on failures without linking
// the Graph SDK; internal/graph produces these values, the executor and cmd
// consume them with errors.As.
package apierr
