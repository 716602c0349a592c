<?php
// Georgian: the terms of the backend's catalogue (docs/translations.md).
return [
    'This article is for members.' => 'ეს სტატია წევრებისთვისაა.',
    'Your membership does not include this article.' => 'თქვენი წევრობა ამ სტატიას არ მოიცავს.',
    'Members read every article in full, and keep our journalism independent.' => 'წევრები ყველა სტატიას სრულად კითხულობენ და ჩვენს ჟურნალისტიკას დამოუკიდებელს ინარჩუნებენ.',
    'Become a member' => 'გახდით წევრი',
    'Already a member?' => 'უკვე წევრი ხართ?',
    'Sign in' => 'შესვლა',
    'Fundraiser progress' => 'შეგროვების მიმდინარეობა',
];
