// Command nephele runs AWS compute on one machine: it serves the EC2, Auto
// Scaling, ELBv2, CloudWatch, Logs, Lambda, IAM and STS wire protocols on
// 127.0.0.1:4566 so the aws CLI, SDKs and Terraform work unchanged.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/nephele-dev/nephele/internal/ec2"
	"github.com/nephele-dev/nephele/internal/imds"
	"github.com/nephele-dev/nephele/internal/server"
)

func main() {
	if err := run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "nephele:", err)
		os.Exit(1)
	}
}

// run parses flags (each also read from an NEPHELE_* variable), starts the
// server and serves until SIGINT or SIGTERM.
func run(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("nephele", flag.ContinueOnError)
	fs.SetOutput(stderr)
	env := func(name, def string) string {
		if v := getenv("NEPHELE_" + name); v != "" {
			return v
		}
		return def
	}
	scaleDefault, err := strconv.ParseFloat(env("TIME_SCALE", "1"), 64)
	if err != nil {
		return fmt.Errorf("NEPHELE_TIME_SCALE: %w", err)
	}
	listen := fs.String("listen", env("LISTEN", server.DefaultListen), "address to serve (env NEPHELE_LISTEN); anything but loopback must be asked for explicitly")
	scale := fs.Float64("time-scale", scaleDefault, "run simulated time this many times faster than real time (env NEPHELE_TIME_SCALE)")
	dataDir := fs.String("data-dir", env("DATA_DIR", ""), "keep state in this directory across restarts; empty keeps it in memory (env NEPHELE_DATA_DIR)")
	account := fs.String("account-id", env("ACCOUNT_ID", "000000000000"), "the AWS account ID served (env NEPHELE_ACCOUNT_ID)")
	imdsPort, err := strconv.Atoi(env("IMDS_PORT", strconv.Itoa(imds.DefaultPort)))
	if err != nil {
		return fmt.Errorf("NEPHELE_IMDS_PORT: %w", err)
	}
	maxInstances, err := strconv.Atoi(env("MAX_INSTANCES", strconv.Itoa(ec2.DefaultMaxInstances)))
	if err != nil {
		return fmt.Errorf("NEPHELE_MAX_INSTANCES: %w", err)
	}
	spotRate, err := strconv.ParseFloat(env("SPOT_INTERRUPTION_RATE", "0"), 64)
	if err != nil {
		return fmt.Errorf("NEPHELE_SPOT_INTERRUPTION_RATE: %w", err)
	}
	fs.Float64Var(&spotRate, "spot-interruption-rate", spotRate, "interrupt each running Spot Instance this many times per simulated hour on average; 0 is off (env NEPHELE_SPOT_INTERRUPTION_RATE)")
	fs.IntVar(&imdsPort, "imds-port", imdsPort, "port of each instance's metadata service, on the instance's own address (env NEPHELE_IMDS_PORT)")
	fs.IntVar(&maxInstances, "max-instances", maxInstances, "most live EC2 instances per region (env NEPHELE_MAX_INSTANCES)")
	consoleLogGroup := fs.String("console-log-group", env("CONSOLE_LOG_GROUP", ""), "mirror every EC2 instance's console output into this CloudWatch Logs group, one stream per instance; the instance tag nephele:console-log-group overrides it (env NEPHELE_CONSOLE_LOG_GROUP)")
	lambdaConcurrency, err := strconv.Atoi(env("LAMBDA_CONCURRENCY", "1000"))
	if err != nil {
		return fmt.Errorf("NEPHELE_LAMBDA_CONCURRENCY: %w", err)
	}
	fs.IntVar(&lambdaConcurrency, "lambda-concurrency", lambdaConcurrency, "Lambda concurrent executions limit per region; lower it for a small machine (env NEPHELE_LAMBDA_CONCURRENCY)")
	level := fs.String("log-level", env("LOG_LEVEL", "info"), "debug, info, warn or error (env NEPHELE_LOG_LEVEL)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if spotRate < 0 {
		return fmt.Errorf("--spot-interruption-rate must not be negative, got %v", spotRate)
	}
	if lambdaConcurrency <= 0 {
		return fmt.Errorf("--lambda-concurrency must be positive, got %d", lambdaConcurrency)
	}
	if *scale <= 0 {
		return fmt.Errorf("--time-scale must be positive, got %v", *scale)
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))

	srv, err := server.New(server.Config{Listen: *listen, TimeScale: *scale, DataDir: *dataDir, AccountID: *account, Logger: logger,
		IMDSPort: imdsPort, MaxInstances: maxInstances, SpotInterruptionRate: spotRate, ConsoleLogGroup: *consoleLogGroup,
		LambdaConcurrency: lambdaConcurrency})
	if err != nil {
		return err
	}
	defer srv.Close()
	if err := srv.Listen(); err != nil {
		return err
	}
	state := "in memory"
	if *dataDir != "" {
		state = "in " + *dataDir
	}
	fmt.Fprintf(stdout, "nephele %s ready on %s (account %s, time scale %g, state %s)\n", server.Version, srv.Endpoint(), *account, *scale, state)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return srv.Serve(ctx)
}
