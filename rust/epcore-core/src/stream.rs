//! Stream integrator.
