"""The live dashboard (``dashboard:``, 127.0.0.1:8096): the fleet, contract graphs with live
counts, breakers, consumer lag, dead letters and throughput, pushed by Server-Sent Events."""
