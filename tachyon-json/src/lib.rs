//! tachyon-json
