#!/bin/sh
# vmadm (stand-in)
echo vmadm
