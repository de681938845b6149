export PATH=/usr/bin:/usr/sbin
