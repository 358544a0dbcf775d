"""Type stubs of the native module `tachyon._tachyon`."""

__version__: str
