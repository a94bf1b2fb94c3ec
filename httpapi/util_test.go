package httpapi_test

import (
	"net/url"
	"strconv"
)

func itoa(n int) string        { return strconv.Itoa(n) }
func urlQuery(s string) string { return url.QueryEscape(s) }
func urlPath(s string) string  { return url.PathEscape(s) }
