package main

import (
	"io"
	"strings"
	"testing"
)

// TestRunRejectsBadConfiguration checks that flags and their NEPHELE_*
// variables are validated up front, with errors that name the setting.
func TestRunRejectsBadConfiguration(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"negative time scale flag", []string{"--time-scale", "-2"}, nil, "--time-scale must be positive"},
		{"zero time scale from env", nil, map[string]string{"NEPHELE_TIME_SCALE": "0"}, "--time-scale must be positive"},
		{"unparsable time scale env", nil, map[string]string{"NEPHELE_TIME_SCALE": "fast"}, "NEPHELE_TIME_SCALE"},
		{"bad log level", []string{"--log-level", "loud"}, nil, "--log-level"},
		{"bad account from env", nil, map[string]string{"NEPHELE_ACCOUNT_ID": "12ab"}, "account id must be 12 digits"},
		{"flag beats env", []string{"--account-id", "123"}, map[string]string{"NEPHELE_ACCOUNT_ID": "000000000000"}, "account id must be 12 digits"},
		{"listen address in use or invalid", []string{"--listen", "256.0.0.1:1"}, nil, "listening on 256.0.0.1:1"},
		{"bad console log group from env", nil, map[string]string{"NEPHELE_CONSOLE_LOG_GROUP": "no spaces"}, "console log group"},
		{"unknown flag", []string{"--nope"}, nil, "flag provided but not defined"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			getenv := func(k string) string { return tc.env[k] }
			err := run(tc.args, getenv, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("run(%v) = %v, want an error containing %q", tc.args, err, tc.want)
			}
		})
	}
}
