"""The build steps. Each module is one step; gobuild.py holds what they share."""
