//! Steady-state economics (filled in by the economics work).
