package page

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

func ident(s string) string { return s }

func names(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("item-%03d", i)
	}
	return out
}

// walk follows next tokens until the last page and returns every item seen
// and the number of pages.
func walk(t *testing.T, items []string, max int) (all []string, pages int) {
	t.Helper()
	token := ""
	for {
		p, next, err := ByKey(items, ident, token, max, 100, 1000)
		if err != nil {
			t.Fatalf("page %d: %v", pages+1, err)
		}
		pages++
		if len(p) > max {
			t.Fatalf("page %d has %d items, max %d", pages, len(p), max)
		}
		all = append(all, p...)
		if next == "" {
			return all, pages
		}
		if pages > len(items)+1 {
			t.Fatal("pagination does not terminate")
		}
		token = next
	}
}

func TestByKeyWalk(t *testing.T) {
	const max = 5
	tests := []struct {
		name      string
		n         int
		wantPages int
	}{
		{"no_items_one_empty_page", 0, 1},
		{"one_item_one_page", 1, 1},
		{"exactly_max_items_one_page_without_next", max, 1},
		{"max_plus_one_items_two_pages", max + 1, 2},
		{"many_items_full_pages_then_rest", 3*max + 2, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items := names(tt.n)
			got, pages := walk(t, items, max)
			if pages != tt.wantPages {
				t.Errorf("pages = %d, want %d", pages, tt.wantPages)
			}
			if !slices.Equal(got, items) && !(len(got) == 0 && len(items) == 0) {
				t.Errorf("walk = %v, want %v", got, items)
			}
		})
	}
}

func TestByKeySortsUnsortedInputWithoutModifyingIt(t *testing.T) {
	items := []string{"c", "a", "d", "b"}
	orig := slices.Clone(items)
	got, _ := walk(t, items, 3)
	if want := []string{"a", "b", "c", "d"}; !slices.Equal(got, want) {
		t.Fatalf("walk = %v, want %v", got, want)
	}
	if !slices.Equal(items, orig) {
		t.Fatalf("input modified: %v", items)
	}
}

func TestByKeyPageDoesNotAliasInput(t *testing.T) {
	items := []string{"a", "b", "c"}
	p, _, err := ByKey(items, ident, "", 2, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	p[0] = "changed"
	_ = append(p, "appended")
	if !slices.Equal(items, []string{"a", "b", "c"}) {
		t.Fatalf("input changed through page: %v", items)
	}
}

func TestByKeyStableUnderChangesBetweenPages(t *testing.T) {
	tests := []struct {
		name   string
		change func([]string) []string
		want   []string
	}{
		{"insert_before_cursor_is_not_seen_and_nothing_repeats",
			func(s []string) []string { return append(s, "a0") },
			[]string{"a", "b", "c", "d", "e", "f"}},
		{"insert_after_cursor_is_seen",
			func(s []string) []string { return append(s, "d0") },
			[]string{"a", "b", "c", "d", "d0", "e", "f"}},
		{"deleting_last_returned_item_skips_nothing",
			func(s []string) []string { return slices.DeleteFunc(s, func(x string) bool { return x == "c" }) },
			[]string{"a", "b", "c", "d", "e", "f"}},
		{"deleting_next_item_drops_only_it",
			func(s []string) []string { return slices.DeleteFunc(s, func(x string) bool { return x == "d" }) },
			[]string{"a", "b", "c", "e", "f"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items := []string{"a", "b", "c", "d", "e", "f"}
			first, next, err := ByKey(items, ident, "", 3, 0, 0)
			if err != nil || next == "" {
				t.Fatalf("first page: %v, next %q", err, next)
			}
			items = tt.change(items)
			rest, next, err := ByKey(items, ident, next, 10, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			if next != "" {
				t.Fatalf("next = %q after last page", next)
			}
			if got := append(first, rest...); !slices.Equal(got, tt.want) {
				t.Fatalf("walk = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestByKeyPageSize(t *testing.T) {
	items := names(30)
	tests := []struct {
		name            string
		max, def, limit int
		wantLen         int
		wantErr         error
	}{
		{"zero_max_uses_default", 0, 7, 100, 7, nil},
		{"negative_max_uses_default", -1, 7, 100, 7, nil},
		{"max_equal_to_limit_is_allowed", 20, 7, 20, 20, nil},
		{"max_above_limit_is_an_error", 21, 7, 20, 0, ErrBadMax},
		{"no_limit_allows_any_max", 25, 7, 0, 25, nil},
		{"no_max_and_no_default_returns_all", 0, 0, 0, 30, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _, err := ByKey(items, ident, "", tt.max, tt.def, tt.limit)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if len(p) != tt.wantLen {
				t.Fatalf("len(page) = %d, want %d", len(p), tt.wantLen)
			}
		})
	}
}

func TestByKeyBadToken(t *testing.T) {
	tests := []struct {
		name, token string
	}{
		{"not_base64", "!!!"},
		{"padded_std_base64", "YQ=="},
		{"base64_without_version", "YWJj"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := ByKey(names(3), ident, tt.token, 2, 0, 0); !errors.Is(err, ErrBadToken) {
				t.Fatalf("err = %v, want ErrBadToken", err)
			}
		})
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	for _, key := range []string{"", "i-0a1b2c3d4e5f60718", "role/path/name", "ünïcödé ?&=", "\x00\xff"} {
		tok := Encode(key)
		if tok == "" {
			t.Errorf("Encode(%q) is empty, which means no more pages", key)
		}
		got, err := Decode(tok)
		if err != nil || got != key {
			t.Errorf("Decode(Encode(%q)) = %q, %v", key, got, err)
		}
	}
}

func TestByKeyEmptyKeyDoesNotEndEarly(t *testing.T) {
	items := []string{"", "a", "b"}
	got, pages := walk(t, items, 1)
	if !slices.Equal(got, items) || pages != 3 {
		t.Fatalf("walk = %q in %d pages", got, pages)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(Encode("i-0a1b2c3d4e5f60718"))
	f.Add("")
	f.Add("!!!")
	f.Fuzz(func(t *testing.T, token string) {
		key, err := Decode(token)
		if err != nil {
			return
		}
		if again, err := Decode(Encode(key)); err != nil || again != key {
			t.Fatalf("round trip of %q: %q, %v", key, again, err)
		}
	})
}
