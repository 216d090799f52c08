"""The dataset on local disk: its layout (state folder, temp files, safe targets), the
local manifest and its journal, and the lock that serialises runs."""
