// Default runtime options of the sanitized build (SWITCHBOARD_SANITIZE=ON, `make test-asan`), linked
// into the switchboard binary and the unit test binary only. They are built in so that every run of
// these binaries — by ctest, by the integration tests' harness, by hand — reports the same way; the
// ASAN_OPTIONS / UBSAN_OPTIONS / LSAN_OPTIONS environment variables still override them.
//
//   ASan:  a report aborts the process (ASan's default); leaks are checked at exit.
//   UBSan: the first report aborts the process (halt_on_error), with a stack trace, so that undefined
//          behaviour fails the test that triggered it instead of scrolling by in a log.
//   LSan suppressions: lsan.supp beside this file (read at exit); each entry says why. UBSan has no
//   suppressions file: it would open one lazily, at its first report, which fails when the process
//   is out of descriptors (the EMFILE test) and hides the report itself.
#ifndef SB_SANITIZER_DIR
#error "SB_SANITIZER_DIR must name tests/sanitizers"
#endif

extern "C" {

const char* __asan_default_options() {
  return "detect_leaks=1:check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=0";
}

const char* __lsan_default_options() { return "suppressions=" SB_SANITIZER_DIR "/lsan.supp:print_suppressions=0"; }

const char* __ubsan_default_options() {
  return "halt_on_error=1:print_stacktrace=1";
}

}  // extern "C"
