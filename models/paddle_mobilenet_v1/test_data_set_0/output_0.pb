
Bfetch_name_0J(ìJ«jİ¨ûE*Û+h¿R«nWôªóe¹©T2®)êéH++'â*