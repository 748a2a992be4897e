//! sdctl's integration tests: one test binary (every extra one relinks Google's SDK).

mod emulator;
