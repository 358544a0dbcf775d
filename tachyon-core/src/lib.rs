//! tachyon-core
