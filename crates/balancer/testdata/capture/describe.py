#!/usr/bin/env python3
"""Prints a ClientHello capture's records, SNI, ALPN, key-share groups and extension list."""
import sys
EXT = {0:"server_name",5:"status_request",10:"supported_groups",11:"ec_point_formats",13:"signature_algorithms",16:"alpn",18:"sct",21:"padding",23:"extended_master_secret",27:"compress_certificate",35:"session_ticket",43:"supported_versions",45:"psk_key_exchange_modes",49:"post_handshake_auth",51:"key_share",17613:"application_settings(new)",17513:"application_settings",65037:"encrypted_client_hello",65281:"renegotiation_info",41:"pre_shared_key",22:"encrypt_then_mac",28:"record_size_limit"}
GROUPS = {0x11ec:"X25519MLKEM768",0x6399:"X25519Kyber768Draft00",0x1d:"x25519",0x17:"secp256r1",0x18:"secp384r1",0x19:"secp521r1",0x1e:"x448",0x100:"ffdhe2048"}
for path in sys.argv[1:]:
    b = open(path,"rb").read(); pos=0; hs=b""; recs=[]
    while pos+5 <= len(b):
        ln=int.from_bytes(b[pos+3:pos+5],"big"); recs.append(ln); hs+=b[pos+5:pos+5+ln]; pos+=5+ln
    p=4+2+32; sid=hs[p]; p+=1+sid; cs=int.from_bytes(hs[p:p+2],"big"); p+=2+cs; cm=hs[p]; p+=1+cm
    el=int.from_bytes(hs[p:p+2],"big"); p+=2; end=p+el; exts=[]; sni=alpn=None; ks=[]
    while p<end:
        t=int.from_bytes(hs[p:p+2],"big"); l=int.from_bytes(hs[p+2:p+4],"big"); d=hs[p+4:p+4+l]; p+=4+l
        exts.append(EXT.get(t, "grease" if (t & 0x0f0f)==0x0a0a else hex(t)))
        if t==0: sni=d[5:].decode()
        if t==16:
            q=2; alpn=[]
            while q<len(d): n=d[q]; alpn.append(d[q+1:q+1+n].decode()); q+=1+n
        if t==51:
            q=2
            while q<len(d):
                g=int.from_bytes(d[q:q+2],"big"); n=int.from_bytes(d[q+2:q+4],"big"); ks.append((GROUPS.get(g, "grease" if (g&0x0f0f)==0x0a0a else hex(g)), n)); q+=4+n
    print(f"{path}: {len(b)} bytes, records {recs}, sni={sni} alpn={alpn} key_shares={ks}\n  ext={exts}")
