"""All-day step logs from the pods: records, the host store, resumable sync, daily load reports."""
