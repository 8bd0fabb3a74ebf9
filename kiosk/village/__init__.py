"""Village service stations (村便民服务站): agents, the 代办 ledger, duty roster, township oversight."""
