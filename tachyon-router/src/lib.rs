//! tachyon-router
