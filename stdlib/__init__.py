"""The aiwf standard library (`std/...` imports), shipped as package data (`aiwfc_stdlib`)."""
