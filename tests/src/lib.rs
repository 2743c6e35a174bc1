//! Shared helpers for the end-to-end journeys in `tests/e2e/`.
